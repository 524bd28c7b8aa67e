import Foundation
import Testing
@testable import Sluice

/// A configuration that validates never crashes a run: every number has a documented range, `validate` reports
/// every problem at once, and the file is read with the project's strict JSON reader.
@Suite("Configuration ranges and strict reading")
struct ConfigurationRangeTests {
    typealias S = PipelineTestSupport

    /// Every problem a configuration text produces (empty when it loads).
    private func problems(_ json: String, environment: [String: String] = [:]) -> [ConfigurationError] {
        switch ConfigurationLoader.check(Data(json.utf8), environment: environment) {
        case .success: []
        case .failure(let problems): problems.errors
        }
    }

    /// A configuration with one key set, by its path (`dedupe.capacity`, `destinations[0].timeoutMs`, ...).
    private static func setting(_ keyPath: String, _ value: String) -> String {
        let parts = keyPath.split(separator: ".").map(String.init)
        if parts[0] == "destination" {
            // The longest backoff must not be below the first; keep it at the top so the first can range freely.
            let companion = parts.last == "initialBackoffMs" ? #", "maxBackoffMs": 3600000"# : ""
            let inner = parts.count == 3 ? #"{"\#(parts[2])": \#(value)\#(companion)}"# : value
            return #"{"destinations": [{"name": "f", "type": "file", "path": "/dev/null", "\#(parts[1])": \#(inner)}]}"#
        }
        return parts.count == 2 ? #"{"\#(parts[0])": {"\#(parts[1])": \#(value)}}"# : #"{"\#(parts[0])": \#(value)}"#
    }

    static let ranges: [(String, ClosedRange<Int>)] = [
        ("dedupe.capacity", ConfigurationRange.dedupeCapacity),
        ("dedupe.windowSeconds", ConfigurationRange.dedupeWindowSeconds),
        ("input.maxLineBytes", ConfigurationRange.maxLineBytes),
        ("input.chunkSize", ConfigurationRange.chunkSize),
        ("input.queueCapacity", ConfigurationRange.queueCapacity),
        ("drainTimeoutSeconds", Int(ConfigurationRange.drainTimeoutSeconds.lowerBound)...Int(ConfigurationRange.drainTimeoutSeconds.upperBound)),
        ("destination.batch.maxEvents", ConfigurationRange.batchMaxEvents),
        ("destination.batch.maxBytes", ConfigurationRange.batchMaxBytes),
        ("destination.batch.maxDelayMs", ConfigurationRange.batchMaxDelayMs),
        ("destination.retry.maxAttempts", ConfigurationRange.retryMaxAttempts),
        ("destination.retry.initialBackoffMs", ConfigurationRange.retryBackoffMs),
        ("destination.concurrency", ConfigurationRange.concurrency),
        ("destination.timeoutMs", ConfigurationRange.timeoutMs),
    ]

    @Test("the reported crash: dedupe.capacity 5000000000 is rejected by validation, naming the range")
    func hugeDedupeCapacity() {
        let found = problems(#"{"dedupe": {"capacity": 5000000000}}"#)
        #expect(found.map(\.description) == ["dedupe.capacity: must be between 1 and 100000000 (got 5000000000)"])
    }

    @Test("every number accepts both ends of its range and rejects one beyond each", arguments: ranges)
    func rangeEnds(keyPath: String, range: ClosedRange<Int>) {
        let reported = keyPath.replacingOccurrences(of: "destination.", with: "destinations[0].")
        for value in [range.lowerBound, range.upperBound] {
            #expect(problems(Self.setting(keyPath, "\(value)")).isEmpty, "\(keyPath) = \(value) should be accepted")
        }
        for value in [range.lowerBound - 1, range.upperBound + 1] {
            let found = problems(Self.setting(keyPath, "\(value)"))
            #expect(found.map(\.keyPath) == [reported], "\(keyPath) = \(value): \(found)")
            #expect(found.first?.message.contains("must be between \(range.lowerBound) and \(range.upperBound)") == true,
                    "\(found)")
        }
    }

    @Test("a run at the top and at the bottom of every range finishes and accounts for every event", arguments: [true, false])
    func extremesRun(top: Bool) async throws {
        func end(_ range: ClosedRange<Int>) -> Int { top ? range.upperBound : range.lowerBound }
        let path = S.temporaryPath("extremes.ndjson")
        let json = """
            {"dedupe": {"capacity": \(end(ConfigurationRange.dedupeCapacity)), "windowSeconds": \(end(ConfigurationRange.dedupeWindowSeconds))},
             "input": {"maxLineBytes": \(end(ConfigurationRange.maxLineBytes)), "chunkSize": \(end(ConfigurationRange.chunkSize)),
                       "queueCapacity": \(end(ConfigurationRange.queueCapacity))},
             "drainTimeoutSeconds": \(top ? ConfigurationRange.drainTimeoutSeconds.upperBound : 0),
             "destinations": [{"name": "f", "type": "file", "path": "\(path)",
               "batch": {"maxEvents": \(end(ConfigurationRange.batchMaxEvents)), "maxBytes": \(end(ConfigurationRange.batchMaxBytes)),
                         "maxDelayMs": \(end(ConfigurationRange.batchMaxDelayMs))},
               "retry": {"maxAttempts": \(end(ConfigurationRange.retryMaxAttempts)),
                         "initialBackoffMs": \(end(ConfigurationRange.retryBackoffMs)), "maxBackoffMs": \(end(ConfigurationRange.retryBackoffMs))},
               "concurrency": \(end(ConfigurationRange.concurrency)), "timeoutMs": \(end(ConfigurationRange.timeoutMs))}]}
            """
        let configuration = try ConfigurationLoader.parse(json, environment: [:])
        let lines = (0..<300).map { S.eventLine($0) }
        let pipeline = try Pipeline(configuration: configuration, options: PipelineOptions(input: .bytes(S.bytes(lines))))
        let summary = try await pipeline.run()
        #expect(summary.ingested + summary.invalid == 300)
        #expect(summary.isBalanced)
        if top {
            #expect(summary.destinations["f"]?.delivered == 300)
        } else {
            // 16-byte lines: every event line is too long, and is reported as invalid, not a crash.
            #expect(summary.invalid == 300)
        }
    }

    @Test("validation reports every problem of a file in document order, not only the first")
    func everyProblem() {
        let found = problems("""
            {"dedupe": {"capacity": 0, "windowSize": 5},
             "input": {"chunkSize": "big"},
             "destinations": [
               {"name": "s", "type": "segment", "writeKey": "${MISSING}", "concurrency": 1000},
               {"type": "kafka"},
               {"name": "f", "type": "file", "path": "x", "format": "xml", "timeoutMs": 0}]}
            """)
        #expect(found.map(\.keyPath) == [
            "dedupe.windowSize", "input.chunkSize", "destinations[0].writeKey", "destinations[1].type",
            "destinations[2].format", "dedupe.capacity", "destinations[0].concurrency", "destinations[2].timeoutMs",
        ])
        // The abandoned destination (no usable type) adds nothing about a placeholder, and each key appears once.
        #expect(!found.contains { $0.keyPath.hasPrefix("destinations[1].") && $0.keyPath != "destinations[1].type" })
        #expect(Set(found.map(\.keyPath)).count == found.count)
    }

    @Test("a trailing comma is rejected with its line, column and byte offset", arguments: [
        ("{\"dedupe\": {\"capacity\": 10,}}", "line 1, column 28 (byte 27)"),
        ("{\n  \"destinations\": [\n    {\"name\": \"o\", \"type\": \"stdout\"},\n  ]\n}", "line 4, column 3 (byte 61)"),
    ])
    func trailingComma(json: String, location: String) {
        let found = problems(json)
        #expect(found.count == 1)
        #expect(found.first?.keyPath == "")
        #expect(found.first?.message.hasPrefix("not valid JSON at \(location): ") == true, "\(found)")
    }

    @Test("a duplicate key is rejected instead of silently keeping the last value")
    func duplicateKey() {
        let found = problems(#"{"dedupe": {"capacity": 10, "capacity": 20}}"#)
        #expect(found.map(\.description) == ["dedupe.capacity: duplicate key (each key may appear once)"])
    }

    @Test("numbers beyond a double or beyond 64 bits are named, not read as infinity or a wrong integer")
    func outOfRangeNumbers() {
        #expect(problems(#"{"drainTimeoutSeconds": 1e400}"#).map(\.description)
                == ["drainTimeoutSeconds: expected a number (got 1e400, beyond the range of a double)"])
        #expect(problems(#"{"dedupe": {"capacity": 1e30}}"#).map(\.description)
                == ["dedupe.capacity: expected an integer (got 1e30, beyond the 64-bit range)"])
        #expect(problems(#"{"dedupe": {"capacity": 99999999999999999999}}"#).first?.keyPath == "dedupe.capacity")
    }

    @Test("a UTF-8 byte order mark before the document is accepted")
    func byteOrderMark() throws {
        let data = Data([0xEF, 0xBB, 0xBF] + Array(#"{"dedupe": {"capacity": 10}}"#.utf8))
        let configuration = try ConfigurationLoader.parse(data, environment: [:])
        #expect(configuration.dedupe.capacity == 10)
    }

    @Test("sluice validate prints every problem on its own line and exits 2; a run with the same file exits 2 without a crash")
    func validateCommandListsAll() throws {
        let path = S.temporaryPath("bad.json")
        try #"{"dedupe": {"capacity": 5000000000}, "input": {"chunkSize": 0, "queueCapacity": 1e9}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let validate = try SluiceExecutable.run(["validate", "--config", path])
        #expect(validate.status == 2)
        let lines = validate.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            "sluice: \(path): dedupe.capacity: must be between 1 and 100000000 (got 5000000000)",
            "sluice: \(path): input.chunkSize: must be between 1 and 65536 (got 0)",
            "sluice: \(path): input.queueCapacity: must be between 1 and 4096 (got 1000000000)",
            "sluice: \(path): 3 problems",
        ])
        let run = try SluiceExecutable.run(["--config", path], input: Array(S.eventLine(1).utf8))
        #expect(run.status == 2)
        #expect(run.stderr.contains("dedupe.capacity: must be between 1 and 100000000"))
    }
}
