import Foundation
import Sluice

// sluice-bench: see `BenchCommand.help` and Benchmarks/README.md.
let arguments = Array(CommandLine.arguments.dropFirst())

if arguments.first == ConfigExecutor.childFlag, arguments.count == 2 {
    exit(await ConfigExecutor.runChild(argument: arguments[1]))
}

if arguments.first == "--redis" {
    exit(await RedisBenchmark.run(arguments))
}

if arguments.first == "--serve" {
    exit(ServeBenchmark.run(arguments))
}

let command: BenchCommand
do {
    command = try BenchCommand.parse(arguments)
} catch {
    FileHandle.standardError.write(Data("sluice-bench: \(error)\nTry `sluice-bench --help`.\n".utf8))
    exit(2)
}
if command.showHelp {
    print(BenchCommand.help)
    exit(0)
}
if command.listKnobs {
    print("knobs (use with --sweep KNOB=V1,V2 or --set KNOB=VALUE):")
    print(BenchCommand.knobList())
    exit(0)
}

let progress: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(("sluice-bench: " + $0 + "\n").utf8)) }
if command.ingestLatency {
    do {
        print(try await IngestLatencyBenchmark(bodies: command.ingestBodies, progress: progress).run())
    } catch {
        progress("\(error)")
        exit(1)
    }
    exit(0)
}
if command.peers {
    let executable = ConfigExecutor.currentExecutable() ?? CommandLine.arguments[0]
    let binDirectory = URL(fileURLWithPath: executable).deletingLastPathComponent().path
    guard let root = PeerComparison.findPackageRoot(from: FileManager.default.currentDirectoryPath)
        ?? PeerComparison.findPackageRoot(from: binDirectory) else {
        progress("cannot find the package root (run from the package directory)")
        exit(2)
    }
    let sluice = binDirectory + "/sluice"
    guard FileManager.default.isExecutableFile(atPath: sluice) else {
        progress("\(sluice) is missing: build it first with `swift build -c release --product sluice`")
        exit(2)
    }
    let peerDirectory: String
    switch PeerComparison.peerDirectory(explicit: command.peersDirectory, packageRoot: root) {
    case .success(let path): peerDirectory = path
    case .failure(let error):
        progress(error.description)
        exit(2)
    }
    let peers = PeerComparison(events: command.peerEvents, runs: command.peerRuns, includeShellPeers: command.peerExtra,
                               peerDirectory: peerDirectory, sluiceBinary: sluice, progress: progress)
    do {
        print(try peers.run())
    } catch {
        progress("\(error)")
        exit(1)
    }
    exit(0)
}

do {
    _ = try await BenchDriver(command: command).run()
} catch {
    progress("\(error)")
    exit(1)
}
