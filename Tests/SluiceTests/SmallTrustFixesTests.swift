import Foundation
import Testing
@testable import Sluice
@testable import SluiceCLI

/// `generate --events N` writes N lines; numbers beyond a double are invalid at ingest; file destinations
/// append or truncate.
@Suite("generate line count, out-of-range numbers, file mode")
struct SmallTrustFixesTests {
    typealias S = PipelineTestSupport

    // MARK: generate --events N

    @Test("generate --events N --invalid-rate R writes exactly N lines, round(N × R) of them broken",
          arguments: [(1000, 0.1, 0.05), (1000, 0.0, 0.0), (7, 0.5, 0.0), (10, 1.0, 0.0), (333, 0.01, 0.2)])
    func generateWritesN(events: Int, invalidRate: Double, dupRate: Double) throws {
        let run = try SluiceExecutable.run(["generate", "--events", "\(events)", "--invalid-rate", "\(invalidRate)",
                                            "--dup-rate", "\(dupRate)"])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == events)
        let broken = lines.filter { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]).map { $0["eventName"] as? String == nil } ?? true
        }
        #expect(broken.count == Int(Double(events) * invalidRate + 0.5))
    }

    @Test("the line split keeps duplicates and broken lines within N, with an original for every duplicate")
    func lineCounts() {
        let mixed = LineCounts(lines: 1000, dupRate: 0.05, invalidRate: 0.1)
        #expect(mixed.events == 900 && mixed.duplicates == 50 && mixed.invalid == 100)
        let allBroken = LineCounts(lines: 10, dupRate: 0, invalidRate: 1)
        #expect(allBroken.events == 0 && allBroken.invalid == 10 && allBroken.duplicates == 0)
        let oneEvent = LineCounts(lines: 2, dupRate: 0.5, invalidRate: 0.5)
        #expect(oneEvent.events == 1 && oneEvent.duplicates == 0 && oneEvent.invalid == 1)
        let none = LineCounts(lines: 0, dupRate: 0.5, invalidRate: 0.5)
        #expect(none.events == 0 && none.duplicates == 0 && none.invalid == 0)
    }

    // MARK: Numbers beyond a double

    @Test("the reader flags documents whose numbers have an exponent or hundreds of digits, and only those")
    func readerFlagsWideNumbers() throws {
        var reader = JSONReader()
        for (text, wide) in [(#"{"a":1795331233000,"b":-0.5}"#, false), (#"{"a":1e400}"#, true), (#"[1.5E3]"#, true),
                             ("[" + String(repeating: "9", count: 301) + "]", true), ("[" + String(repeating: "9", count: 300) + "]", false)] {
            try reader.parse(Array(text.utf8))
            #expect(reader.hasWideNumbers == wide, "\(text.prefix(40))")
        }
        #expect(throws: JSONError.self) { try reader.parse(Array("[1e5,".utf8)) }
        #expect(!reader.hasWideNumbers)
    }

    @Test("an event with a number beyond a double is invalid with the number in the reason; its batch neighbours still count",
          arguments: [
            #"{"eventName":"purchase","user":{"userID":"u"},"time":1795331233000,"value":1e400}"#,
            #"{"eventName":"purchase","user":{"userID":"u","custom":{"n":-2E+999}},"time":1795331233000}"#,
            #"{"eventName":"purchase","user":{"userID":"u"},"time":1795331233000,"metadata":{"big":"#
                + String(repeating: "9", count: 400) + "}}",
            #"{"type":"track","event":"Order","userId":"u","properties":{"total":1e400},"messageId":"m1"}"#,
          ])
    func beyondDoubleIsInvalid(line: String) {
        let (chunk, invalid) = IntegrationFixtures.decode([line])
        #expect(chunk.events.isEmpty)
        #expect(invalid.count == 1)
        #expect(invalid.first?.reason.hasPrefix("number ") == true)
        #expect(invalid.first?.reason.contains("beyond the range of a double") == true, "\(invalid)")
    }

    @Test("inside a log_event batch and a Segment batch only the event holding the number is invalid")
    func beyondDoubleInBatches() {
        let (chunk, invalid) = IntegrationFixtures.decode([
            #"{"events":[{"eventName":"a","time":1,"value":1.5e3},{"eventName":"b","time":2,"value":1e400},{"eventName":"c","time":3}]}"#,
            #"{"batch":[{"type":"track","event":"x","userId":"u","properties":{"p":1e309}},{"type":"track","event":"y","userId":"u","properties":{"p":2.5e-3}}]}"#,
        ])
        #expect(chunk.events.count == 3)
        #expect(invalid.map(\.line) == [1, 2])
        #expect(invalid.map(\.index) == [1, 0])
        #expect(invalid.allSatisfy { $0.reason.contains("beyond the range of a double") })
        // A shared user carrying such a number spoils every event that inherits it.
        let (shared, sharedInvalid) = IntegrationFixtures.decode([
            #"{"user":{"userID":"u","n":1e400},"events":[{"eventName":"a","time":1},{"eventName":"b","time":2,"user":{"userID":"v"}}]}"#,
        ])
        #expect(shared.events.count == 1)
        #expect(sharedInvalid.map(\.index) == [0])
    }

    @Test("a run with such an event delivers the others to a Segment-format output and counts it invalid")
    func beyondDoubleEndToEnd() throws {
        let lines = [S.eventLine(1), #"{"eventName":"purchase","user":{"userID":"u"},"time":1795331233000,"value":1e400}"#, S.eventLine(2)]
        let run = try SluiceExecutable.run(["--format", "segment"], input: Array((lines.joined(separator: "\n") + "\n").utf8))
        #expect(run.status == 0)
        #expect(run.stdout.split(separator: "\n").count == 2)
        #expect(!run.stdout.contains("1e400"))
        #expect(run.stderr.contains("line 2") && run.stderr.contains("number 1e400 is beyond the range of a double"))
    }

    // MARK: File destination mode

    private func runToFile(_ path: String, mode: String?, events: Range<Int>) async throws {
        let modeKey = mode.map { #", "mode": "\#($0)""# } ?? ""
        let configuration = try ConfigurationLoader.parse(
            #"{"destinations": [{"name": "f", "type": "file", "path": "\#(path)"\#(modeKey)}]}"#, environment: [:])
        let pipeline = try Pipeline(configuration: configuration,
                                    options: PipelineOptions(input: .bytes(S.bytes(events.map { S.eventLine($0) }))))
        let summary = try await pipeline.run()
        #expect(summary.destinations["f"]?.delivered == events.count)
    }

    private func lineCount(_ path: String) -> Int {
        (FileManager.default.contents(atPath: path) ?? Data()).reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    @Test("file destinations append by default and with mode append; truncate starts the file afresh")
    func fileModes() async throws {
        let path = S.temporaryPath("out.ndjson")
        try await runToFile(path, mode: nil, events: 0..<10)
        try await runToFile(path, mode: nil, events: 10..<15)
        #expect(lineCount(path) == 15)
        try await runToFile(path, mode: "append", events: 15..<20)
        #expect(lineCount(path) == 20)
        try await runToFile(path, mode: "truncate", events: 20..<23)
        #expect(lineCount(path) == 3)
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        #expect(text.contains(#""value":20"#) && !text.contains(#""value":19,"#))
    }

    @Test("mode is a file destination key with two values")
    func fileModeValidation() {
        let bad = #"{"destinations": [{"name": "f", "type": "file", "path": "x", "mode": "overwrite"}]}"#
        guard case .failure(let problems) = ConfigurationLoader.check(Data(bad.utf8), environment: [:]) else {
            Issue.record("mode overwrite was accepted"); return
        }
        #expect(problems.errors.map(\.description) == [#"destinations[0].mode: expected one of append, truncate (got "overwrite")"#])
        let onStdout = #"{"destinations": [{"name": "o", "type": "stdout", "mode": "truncate"}]}"#
        guard case .failure(let stdoutProblems) = ConfigurationLoader.check(Data(onStdout.utf8), environment: [:]) else {
            Issue.record("mode on stdout was accepted"); return
        }
        #expect(stdoutProblems.errors.first?.keyPath == "destinations[0].mode")
    }
}
