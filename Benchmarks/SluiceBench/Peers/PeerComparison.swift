import Foundation
import Sluice

/// `--peers`: the speed goal is a ratio, so this runs the peer programs and the `sluice` CLI on one generated
/// input file, on this machine, in one sitting, and prints events/s for each and the ratio to the orjson peer.
struct PeerComparison {
    var events = 300_000
    /// Timed runs per program; the best is reported (the least disturbed by the other users of the machine).
    var runs = 3
    /// Also run the jq and Miller peers when those tools are installed (slow).
    var includeShellPeers = false
    /// The directory holding the peer programs (`orjson_relay.py`, ...); see ``peerDirectory(explicit:packageRoot:)``.
    var peerDirectory: String
    var sluiceBinary: String
    var progress: @Sendable (String) -> Void = { _ in }

    /// One program's result.
    struct Outcome {
        var name: String
        var bestSeconds: Double?
        var outputLines: Int?
        var failure: String?
    }

    func run() throws -> String {
        let store = try WorkloadStore()
        defer { store.removeAll() }
        var settings = BenchSettings()
        settings.events = events
        progress("peers: generating \(events) events")
        let input = try store.input(for: settings)
        var programs: [(String, [String])] = [
            ("python3 orjson_relay.py", ["python3", peerDirectory + "/orjson_relay.py"]),
            ("sluice --format segment", [sluiceBinary, "--format", "segment"]),
        ]
        // The same input through the CLI's default Statsig-format output: not the same job (no reshaping into
        // Segment messages), listed for reference, and the only Sluice figure while the Segment encoder is missing.
        programs.append(("sluice (statsig format; reference only)", [sluiceBinary]))
        if includeShellPeers {
            programs.append(("jq_relay.sh", ["sh", peerDirectory + "/jq_relay.sh"]))
            programs.append(("mlr_relay.sh", ["sh", peerDirectory + "/mlr_relay.sh"]))
        }
        var outcomes: [Outcome] = []
        for (name, command) in programs {
            outcomes.append(measure(name: name, command: command, input: input.path, scratch: store.directory))
        }
        return report(outcomes, counts: input.counts, inputPath: input.path)
    }

    private func measure(name: String, command: [String], input: String, scratch: String) -> Outcome {
        var outcome = Outcome(name: name)
        // One untimed run into a file, to count what it produced (a program that drops events cannot look fast).
        progress("peers: \(name): checking output")
        let outputPath = scratch + "/peer-output.ndjson"
        switch execute(command, input: input, output: outputPath) {
        case .failure(let message):
            outcome.failure = message.description
            return outcome
        case .success:
            outcome.outputLines = (try? Data(contentsOf: URL(fileURLWithPath: outputPath)))?.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            try? FileManager.default.removeItem(atPath: outputPath)
        }
        for run in 1...max(1, runs) {
            progress("peers: \(name): run \(run)/\(runs)")
            switch execute(command, input: input, output: "/dev/null") {
            case .failure(let message): outcome.failure = message.description; return outcome
            case .success(let seconds): outcome.bestSeconds = min(outcome.bestSeconds ?? .infinity, seconds)
            }
        }
        return outcome
    }

    private func execute(_ command: [String], input: String, output: String) -> Result<Double, BenchRunError> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        guard let stdin = FileHandle(forReadingAtPath: input) else { return .failure(BenchRunError("cannot read \(input)")) }
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        guard let stdout = FileHandle(forWritingAtPath: output) else { return .failure(BenchRunError("cannot write \(output)")) }
        let errors = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = errors
        let start = ContinuousClock.now
        do { try process.run() } catch { return .failure(BenchRunError("cannot start \(command[0]): \(error)")) }
        let stderrText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let seconds = nanoseconds(ContinuousClock.now - start) / 1e9
        try? stdin.close()
        try? stdout.close()
        guard process.terminationStatus == 0 else {
            let firstLine = stderrText.split(separator: "\n").first.map(String.init) ?? ""
            return .failure(BenchRunError("exit \(process.terminationStatus): \(firstLine)"))
        }
        return .success(seconds)
    }

    private func report(_ outcomes: [Outcome], counts: InputCounts, inputPath: String) -> String {
        let expected = counts.events - counts.duplicates - counts.internal
        var lines = ["peers on one input: \(counts.events) events (\(counts.duplicates) duplicates, \(counts.internal) internal), "
            + "\(TextFormat.fixed(Double(counts.bytes) / 1e6, 1)) MB; best of \(runs) runs each; output lines expected ≈ \(expected)"]
        let reference = outcomes.first?.bestSeconds
        let rows = outcomes.map { o -> [String] in
            guard let seconds = o.bestSeconds else { return [o.name, "-", "-", "-", "-", "FAILED: \(o.failure ?? "?")"] }
            let ratio = reference.map { $0 / seconds }
            return [o.name, TextFormat.fixed(seconds, 3), TextFormat.rate(Double(counts.events) / seconds),
                    ratio.map { TextFormat.fixed($0, 2) + "x" } ?? "-", o.outputLines.map(String.init) ?? "-", ""]
        }
        lines.append(TextFormat.table(header: ["program", "best s", "events/s", "vs orjson", "output lines", ""], rows: rows,
                                      rightAligned: [1, 2, 3, 4]))
        lines.append("goal: sluice >= 10x the orjson peer (first milestone 3x). The orjson peer drops only statsig::diagnostics; "
            + "sluice drops every internal event, so their output line counts may differ slightly.")
        return lines.joined(separator: "\n")
    }

    /// The peer programs are not part of the package (they are other projects' tools, kept with the project's
    /// shared material), so their directory is `--peers-dir DIR`, by default `shared/bench` in the package root's
    /// parent directory. Fails with what is missing and how to point at it, before any input is generated.
    static func peerDirectory(explicit: String?, packageRoot: String) -> Result<String, BenchRunError> {
        let directory = explicit.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: packageRoot).deletingLastPathComponent().appendingPathComponent("shared/bench")
        let path = directory.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return .failure(BenchRunError("--peers: the peer programs directory \(path) does not exist; "
                + "pass --peers-dir DIR (the directory holding orjson_relay.py)"))
        }
        guard FileManager.default.fileExists(atPath: path + "/orjson_relay.py") else {
            return .failure(BenchRunError("--peers: \(path) has no orjson_relay.py; pass --peers-dir DIR (the directory holding it)"))
        }
        return .success(path)
    }

    /// The package root: the nearest directory at or above `start` holding a Package.swift.
    static func findPackageRoot(from start: String) -> String? {
        var url = URL(fileURLWithPath: start).standardizedFileURL
        for _ in 0..<8 {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
            url.deleteLastPathComponent()
        }
        return nil
    }
}
