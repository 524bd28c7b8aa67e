import Foundation
import Testing
@testable import Sluice

/// The integration keys (`statsigSpecs`, `input.timestampUnit`, `rateLimit`, `compression`) report their problems
/// alongside every other problem of the file, as the rest of the configuration does: a bad value there must not
/// stop `sluice validate` from listing what comes after it.
@Suite("Integration keys: every problem is reported")
struct IntegrationConfigurationProblemsTests {
    private func problems(_ json: String) -> [ConfigurationError] {
        switch ConfigurationLoader.check(Data(json.utf8), environment: [:]) {
        case .success: []
        case .failure(let problems): problems.errors
        }
    }

    @Test("bad integration keys are listed together with the problems that follow them, in document order")
    func integrationProblemsDoNotStopDecoding() {
        let found = problems("""
            {"input": {"timestampUnit": "minutes"},
             "statsigSpecs": {"url": "https://example.com"},
             "dedupe": {"capacity": 0},
             "destinations": [
               {"name": "s", "type": "segment", "writeKey": "k", "compression": "brotli", "concurrency": 1000},
               {"name": "h", "type": "heap", "appID": "a", "rateLimit": [{"events": 20000}, "fast", {"events": 20000, "perSeconds": 60}]},
               {"name": "f", "type": "file", "path": "x", "format": "xml"}]}
            """)
        #expect(found.map(\.keyPath) == [
            "input.timestampUnit", "statsigSpecs", "destinations[0].compression", "destinations[1].rateLimit[0].perSeconds",
            "destinations[1].rateLimit[1]", "destinations[2].format", "dedupe.capacity", "destinations[0].concurrency",
        ], "\(found)")
        // Each problem once; the destinations with a bad integration key are not abandoned (their other keys are checked).
        #expect(Set(found.map(\.keyPath)).count == found.count)
        #expect(found.first?.message == "expected one of milliseconds, auto (got \"minutes\")")
        #expect(found.contains { $0.description == "destinations[0].compression: expected none or gzip (got \"brotli\")" })
    }

    @Test("a statsigSpecs secret of the wrong type is one problem, named once, and its value is never quoted")
    func specsSecretOfWrongType() {
        let found = problems(#"{"statsigSpecs": {"serverSecret": 12345678, "refreshSeconds": 0}, "dedupe": {"capacity": 0}}"#)
        #expect(found.map(\.description) == [
            "statsigSpecs.serverSecret: expected a string (got a number)", "dedupe.capacity: must be between 1 and 100000000 (got 0)",
        ])
    }

    @Test("an unreadable rate-limit count is one problem, not also \"needs events and/or requests\"")
    func unreadableCountIsOneProblem() {
        let found = problems(#"{"destinations": [{"name": "h", "type": "heap", "appID": "a", "rateLimit": {"events": 1e400, "perSeconds": 60}}]}"#)
        #expect(found.map(\.keyPath) == ["destinations[0].rateLimit.events"], "\(found)")
        // The rule's window is still checked.
        let both = problems(#"{"destinations": [{"name": "h", "type": "heap", "appID": "a", "rateLimit": {"events": "many", "perSeconds": 0}}]}"#)
        #expect(both.map(\.keyPath) == ["destinations[0].rateLimit.events", "destinations[0].rateLimit.perSeconds"], "\(both)")
    }
}
