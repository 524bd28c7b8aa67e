import Foundation
import Testing

/// A clone anywhere passes its tests: the test data lives in the repository, and nothing in the package reads
/// the material directory that sits beside the repository on the project's own machines (a user's clone has none).
@Suite struct RepositoryFixturesTests {
    /// The sibling directory's relative path, assembled so this file does not itself contain it.
    static let siblingPath = [".."].joined() + "/" + "shared"

    @Test("the fixtures the tests read are inside the repository, JSONTestSuite with its MIT licence")
    func fixturesInsideRepository() throws {
        let root = JSONFixtures.packageRoot.standardizedFileURL.path + "/"
        for url in [JSONFixtures.testParsing, JSONFixtures.statsigSample, JSONFixtures.inputShapesSample] {
            #expect(url.standardizedFileURL.path.hasPrefix(root), "\(url.path) is outside the package")
            #expect(FileManager.default.fileExists(atPath: url.path), "\(url.path) is missing")
        }
        let licence = try String(contentsOf: JSONFixtures.testParsing.deletingLastPathComponent().appendingPathComponent("LICENSE"),
                                 encoding: .utf8)
        #expect(licence.contains("MIT License") && licence.contains("Nicolas Seriot"))
    }

    @Test("no source, test or benchmark file refers to the directory beside the repository")
    func nothingReadsTheSiblingDirectory() throws {
        var offenders: [String] = []
        for folder in ["Sources", "Tests", "Benchmarks", "Fuzz", "Examples"] {
            let base = JSONFixtures.packageRoot.appendingPathComponent(folder)
            guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where ["swift", "sh"].contains(url.pathExtension) {
                let text = try String(contentsOf: url, encoding: .utf8)
                if text.contains(Self.siblingPath) { offenders.append(url.path) }
            }
        }
        #expect(offenders.isEmpty, "these files refer to \(Self.siblingPath): \(offenders)")
    }
}
