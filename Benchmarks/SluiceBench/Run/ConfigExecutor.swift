import Foundation

/// Everything a child process needs to measure one configuration; passed as one JSON argument.
struct ChildTask: Codable, Sendable {
    var settings: BenchSettings
    var inputPath: String
    var counts: InputCounts
    var httpPort: Int?
    var warmups: Int
    var repetitions: Int
}

/// Measures one configuration: warm-up runs (not reported), then timed repetitions.
enum ConfigExecutor {
    /// The command-line flag that makes `sluice-bench` a measuring child.
    static let childFlag = "--child-task"

    /// Runs the task in this process. `scope` names how far the peak-RSS figure can be trusted.
    static func measure(_ task: ChildTask, scope: String) async -> ConfigResult {
        var result = ConfigResult(settings: task.settings, input: task.counts, warmups: task.warmups, repetitions: [],
                                  peakRSSBytes: nil, rssScope: scope, error: nil)
        let runner = PipelineRunner(settings: task.settings, inputPath: task.inputPath, counts: task.counts,
                                    httpPort: task.httpPort)
        ResourceUsage.resetPeakResident()
        do {
            for _ in 0..<task.warmups { _ = try await runner.runOnce() }
            for _ in 0..<max(1, task.repetitions) { result.repetitions.append(try await runner.runOnce()) }
        } catch {
            result.error = "\(error)"
        }
        result.peakRSSBytes = ResourceUsage.peakResidentBytes()
        return result
    }

    /// Runs the task in a fresh child process of this executable, so that its peak RSS is its own and no
    /// heap left behind by an earlier configuration flatters or penalises it.
    static func measureInChild(_ task: ChildTask, executable: String) throws -> ConfigResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [childFlag, String(decoding: try JSONEncoder().encode(task), as: UTF8.self)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchRunError("child process exited with status \(process.terminationStatus)")
        }
        return try JSONDecoder().decode(ConfigResult.self, from: data)
    }

    /// The child's side: decode the task, measure, print the result as JSON on stdout.
    static func runChild(argument: String) async -> Int32 {
        guard let task = try? JSONDecoder().decode(ChildTask.self, from: Data(argument.utf8)) else {
            FileHandle.standardError.write(Data("sluice-bench: bad \(childFlag) argument\n".utf8))
            return 2
        }
        let result = await measure(task, scope: "child process")
        guard let data = try? JSONEncoder().encode(result) else { return 1 }
        FileHandle.standardOutput.write(data)
        return 0
    }

    /// This executable's path, for re-running it as a child.
    static func currentExecutable() -> String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
    }
}
