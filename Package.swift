// swift-tools-version: 6.0
import PackageDescription

// Sluice has no package dependencies by design: Foundation (FoundationNetworking for HTTP), Dispatch,
// Synchronization and Swift Concurrency only, plus the system zlib (gzip bodies) through a system-library target.
let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sluice", targets: ["Sluice"]),
        .executable(name: "sluice", targets: ["SluiceCLI"]),
        .executable(name: "sluice-bench", targets: ["SluiceBench"]),
        .executable(name: "sluice-embedding-example", targets: ["EmbeddingExample"]),
    ],
    targets: [
        // The system zlib: headers from zlib1g-dev (present on Debian's base images with a toolchain).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Declarations only (no library is linked): the HTTP transport loads libcurl.so.4 with dlopen.
        .systemLibrary(name: "CCurlShim", path: "Sources/CCurlShim"),
        .target(name: "Sluice", dependencies: ["CZlib", "CCurlShim"]),
        .executableTarget(name: "SluiceCLI", dependencies: ["Sluice"]),
        .executableTarget(name: "SluiceBench", dependencies: ["Sluice"], path: "Benchmarks/SluiceBench"),
        .executableTarget(name: "EmbeddingExample", dependencies: ["Sluice"], path: "Examples/EmbeddingExample"),
        // Depends on the executables so `swift test` builds the real `sluice` binary the CLI tests drive.
        // `Fixtures/` is test data read from disk by path (JSONTestSuite with its licence, samples), not sources.
        .testTarget(name: "SluiceTests", dependencies: ["Sluice", "SluiceCLI", "SluiceBench"], exclude: ["Fixtures"]),
        // Uses only the public API (`import Sluice` without `@testable`), as an embedding service would.
        .testTarget(name: "SluicePublicAPITests", dependencies: ["Sluice"]),
    ],
    swiftLanguageModes: [.v6]
)
