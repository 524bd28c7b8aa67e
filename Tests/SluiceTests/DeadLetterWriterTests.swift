import Foundation
import Testing
@testable import Sluice

@Suite("Dead-letter file")
struct DeadLetterWriterTests {
    @Test("invalid lines are kept with line and reason, but never their privateAttributes, nor a configured secret in the reason")
    func invalidLinesKeepNoPrivateData() throws {
        let path = PipelineTestSupport.temporaryPath("dead.ndjson")
        let writer = try DeadLetterWriter(path: path, redactor: Redactor(secrets: ["sk-live-123456"]))
        let line = #"{"eventName":"e","user":{"userID":"u","privateAttributes":{"ssn":"123-45-6789"}},"note":"n","#
        writer.writeInvalid([InvalidInput(line: 7, reason: "invalid JSON: byte 99: unexpected end of input (key sk-live-123456)",
                                          raw: Array(line.utf8))])
        writer.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(record["line"] as? Int == 7)
        #expect(record["kind"] as? String == "invalid")
        #expect((record["raw"] as? String)?.hasPrefix(#"{"eventName":"e","user":{"userID":"u","#) == true)
        #expect(!text.contains("123-45-6789"))
        #expect(!text.contains("sk-live-123456"))
    }
}

@Suite("Destination factory")
struct DestinationFactoryTests {
    @Test("Statsig ID-list changes go one request at a time whatever concurrency says, so add/remove order holds")
    func idListsAreSerial() {
        let idLists = DestinationConfiguration(name: "audiences", kind: .statsigIDLists(apiKey: "k"), concurrency: 8)
        let segment = DestinationConfiguration(name: "segment", kind: .segment(writeKey: "k"), concurrency: 8)
        #expect(DestinationFactory.concurrency(for: idLists) == 1)
        #expect(DestinationFactory.concurrency(for: segment) == 8)
    }
}

@Suite("Summary")
struct SummaryTests {
    @Test("the summary JSON always parses and carries the contract's keys, latency and the dry-run marker")
    func summaryJSON() throws {
        var summary = Summary(ingested: 10, invalid: 1, duplicates: 2, filtered: 3, filteredByReason: ["category not selected": 3],
                              destinations: ["out": .init(delivered: 5, filtered: 0, deadLettered: 0, dropped: 0, filteredByReason: [:],
                                                          requests: 1, retries: 0, failedRequests: 0)],
                              elapsedSeconds: 1.5)
        for (dryRun, latency) in [(false, nil), (true, Summary.LatencySummary(p50: 0.001, p99: 0.01, max: 0.02))] {
            summary.dryRun = dryRun
            summary.latency = latency
            let object = try #require(try JSONSerialization.jsonObject(with: Data(summary.jsonBytes())) as? [String: Any])
            #expect(object["ingested"] as? Int == 10)
            #expect((object["destinations"] as? [String: [String: Any]])?["out"]?["delivered"] as? Int == 5)
            #expect((object["dryRun"] as? Bool ?? false) == dryRun)
            #expect((object["latencySeconds"] != nil) == (latency != nil))
        }
        #expect(summary.isBalanced)
    }
}
