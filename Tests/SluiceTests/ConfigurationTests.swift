import Foundation
import Testing
@testable import Sluice

/// The contract's example configuration, with one of every destination type.
private let contractExample = """
{
  "dedupe": {"enabled": true, "capacity": 1000000, "windowSeconds": 3600},
  "filter": {"include": ["*"], "exclude": ["statsig::diagnostics"], "categories": ["custom", "gate_exposure"]},
  "segmentInbound": {"events": ["Order Completed"], "anonymousIdAs": "segmentAnonymousId"},
  "destinations": [
    {"name": "out", "type": "stdout", "format": "segment"},
    {"name": "archive", "type": "file", "path": "events.ndjson", "format": "statsig"},
    {"name": "segment", "type": "segment", "endpoint": "https://api.segment.io", "writeKey": "${SEGMENT_WRITE_KEY}",
     "identifiers": {"userId": "userID", "anonymousId": "stableID"}},
    {"name": "heap", "type": "heap", "endpoint": "https://heapanalytics.com", "appID": "${HEAP_APP_ID}",
     "identifiers": {"identity": "userID"}},
    {"name": "statsig", "type": "statsig", "endpoint": "https://events.statsigapi.net", "apiKey": "${STATSIG_SERVER_SECRET}"},
    {"name": "audiences", "type": "statsig-idlists", "endpoint": "https://statsigapi.net", "apiKey": "${STATSIG_CONSOLE_KEY}"},
    {"name": "hook", "type": "webhook", "url": "https://example.com/events", "headers": {"Authorization": "${HOOK_TOKEN}"}}
  ]
}
"""

private let contractEnvironment = [
    "SEGMENT_WRITE_KEY": "seg-write-key-123",
    "HEAP_APP_ID": "heap-app-456",
    "STATSIG_SERVER_SECRET": "secret-statsig-789",
    "STATSIG_CONSOLE_KEY": "console-key-abc",
    "HOOK_TOKEN": "Bearer hook-token-def",
]

/// The error a configuration text produces, or nil when it loads.
private func loadError(_ json: String, environment: [String: String] = [:]) -> ConfigurationError? {
    do {
        _ = try ConfigurationLoader.parse(json, environment: environment)
        return nil
    } catch {
        return error
    }
}

/// Wraps one destination object into a configuration.
private func withDestination(_ destination: String) -> String {
    #"{"destinations": [\#(destination)]}"#
}

@Suite("Configuration")
struct ConfigurationTests {
    // MARK: Defaults

    @Test("the default configuration is the contract's no-options behaviour")
    func defaults() throws {
        let configuration = PipelineConfiguration()
        #expect(configuration.dedupe == DedupeConfiguration(enabled: true, capacity: 1_000_000, windowSeconds: 3600))
        #expect(configuration.filter == EventSelection(categories: nil, include: ["*"], exclude: []))
        #expect(!configuration.filter.admits(name: "statsig::diagnostics"))
        #expect(configuration.segmentInbound.events == ["*"])
        #expect(configuration.segmentInbound.anonymousIdAs == "segmentAnonymousId")
        #expect(configuration.input == InputConfiguration(maxLineBytes: 1_048_576, chunkSize: 512, queueCapacity: 8))
        #expect(configuration.drainTimeoutSeconds == 30)
        #expect(configuration.destinations.count == 1)
        let stdout = try #require(configuration.destinations.first)
        #expect(stdout.name == "stdout")
        #expect(stdout.kind == .stdout(format: .statsig))
        #expect(stdout.batch == BatchConfiguration(maxEvents: 512, maxBytes: 1_048_576, maxDelayMs: 100))
        #expect(stdout.concurrency == 1)
        #expect(stdout.retry == RetryConfiguration(maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 10_000))
        #expect(stdout.retry.maxRetryAfterSeconds == 60)
        #expect(stdout.timeoutMs == 10_000)
        #expect(stdout.overflow == .block)
        #expect(configuration.secrets.isEmpty)
        #expect(configuration.validationErrors().isEmpty)
    }

    @Test("an empty file and an empty destination list give the default stdout destination")
    func emptyDocument() throws {
        #expect(try ConfigurationLoader.parse("{}", environment: [:]) == PipelineConfiguration())
        let segment = try ConfigurationLoader.parse(
            #"{"destinations": []}"#, environment: [:], defaultOutputFormat: .segment)
        #expect(segment.destinations == DestinationConfiguration.defaultDestinations(format: .segment))
    }

    @Test("batch and concurrency defaults follow each destination kind")
    func kindDefaults() {
        let cases: [(DestinationConfiguration.Kind, Int, Int, Int, Int)] = [
            (.stdout(), 512, 1_048_576, 100, 1),
            (.file(path: "x"), 512, 1_048_576, 100, 1),
            (.segment(writeKey: "k"), 2500, 475_000, 1000, 4),
            (.heap(appID: "a"), 1000, 1_000_000, 1000, 4),
            (.statsig(apiKey: "k"), 1000, 1_000_000, 1000, 4),
            (.statsigIDLists(apiKey: "k"), 1000, 1_000_000, 1000, 4),
            (.webhook(url: "https://example.com"), 500, 1_000_000, 1000, 4),
        ]
        for (kind, maxEvents, maxBytes, maxDelayMs, concurrency) in cases {
            let destination = DestinationConfiguration(name: "d", kind: kind)
            #expect(destination.batch == BatchConfiguration(
                maxEvents: maxEvents, maxBytes: maxBytes, maxDelayMs: maxDelayMs), "\(kind)")
            #expect(destination.concurrency == concurrency, "\(kind)")
        }
    }

    @Test("endpoints default to each service's public host")
    func defaultEndpoints() {
        #expect(DestinationConfiguration.Kind.segment(writeKey: "k") == .segment(endpoint: "https://api.segment.io", writeKey: "k"))
        #expect(DestinationConfiguration.Kind.heap(appID: "a") == .heap(endpoint: "https://heapanalytics.com", appID: "a"))
        #expect(DestinationConfiguration.Kind.statsig(apiKey: "k") == .statsig(endpoint: "https://events.statsigapi.net", apiKey: "k"))
        #expect(DestinationConfiguration.Kind.statsigIDLists(apiKey: "k") == .statsigIDLists(endpoint: "https://statsigapi.net", apiKey: "k"))
    }

    @Test("identifier mapping defaults to userID and stableID")
    func identifierDefaults() {
        #expect(IdentifierMapping() == IdentifierMapping(userId: "userID", anonymousId: "stableID", identity: "userID"))
    }

    // MARK: The contract's example

    @Test("every key of the contract's example parses, with environment variables substituted")
    func contractExampleParses() throws {
        let configuration = try ConfigurationLoader.parse(contractExample, environment: contractEnvironment)
        #expect(configuration.dedupe == DedupeConfiguration())
        #expect(configuration.filter == EventSelection(
            categories: [.custom, .gateExposure], include: ["*"], exclude: ["statsig::diagnostics"]))
        #expect(configuration.segmentInbound == SegmentInboundConfiguration(
            events: ["Order Completed"], anonymousIdAs: "segmentAnonymousId"))
        #expect(configuration.destinations.map(\.name) == [
            "out", "archive", "segment", "heap", "statsig", "audiences", "hook",
        ])
        #expect(configuration.destinations.map(\.kind) == [
            .stdout(format: .segment),
            .file(path: "events.ndjson", format: .statsig),
            .segment(endpoint: "https://api.segment.io", writeKey: "seg-write-key-123"),
            .heap(endpoint: "https://heapanalytics.com", appID: "heap-app-456"),
            .statsig(endpoint: "https://events.statsigapi.net", apiKey: "secret-statsig-789"),
            .statsigIDLists(endpoint: "https://statsigapi.net", apiKey: "console-key-abc"),
            .webhook(url: "https://example.com/events", headers: ["Authorization": "Bearer hook-token-def"]),
        ])
        #expect(configuration.destinations[2].identifiers.userId == "userID")
        #expect(configuration.destinations[2].identifiers.anonymousId == "stableID")
        #expect(configuration.destinations[3].identifiers.identity == "userID")
        #expect(configuration.destinations.map(\.kind.typeName) == [
            "stdout", "file", "segment", "heap", "statsig", "statsig-idlists", "webhook",
        ])
    }

    @Test("secrets lists every credential once, longest first")
    func secrets() throws {
        let configuration = try ConfigurationLoader.parse(contractExample, environment: contractEnvironment)
        #expect(configuration.secrets == [
            "Bearer hook-token-def", "secret-statsig-789", "seg-write-key-123", "console-key-abc", "heap-app-456",
        ])
    }

    @Test("every per-destination key parses")
    func destinationKeys() throws {
        let configuration = try ConfigurationLoader.parse(withDestination("""
            {"name": "s", "type": "segment", "writeKey": "k",
             "events": {"categories": ["custom", "experiment_exposure"], "include": ["Order *"], "exclude": ["Order Refunded"]},
             "batch": {"maxEvents": 100, "maxBytes": 20000, "maxDelayMs": 0},
             "retry": {"maxAttempts": 3, "initialBackoffMs": 50, "maxBackoffMs": 400, "maxRetryAfterSeconds": 5},
             "concurrency": 2, "timeoutMs": 2500, "overflow": "drop_oldest",
             "identifiers": {"userId": "companyID", "anonymousId": null}}
            """), environment: [:])
        let destination = try #require(configuration.destinations.first)
        #expect(destination.kind == .segment(writeKey: "k"))
        #expect(destination.events == EventSelection(
            categories: [.custom, .experimentExposure], include: ["Order *"], exclude: ["Order Refunded"]))
        #expect(destination.batch == BatchConfiguration(maxEvents: 100, maxBytes: 20000, maxDelayMs: 0))
        #expect(destination.retry == RetryConfiguration(maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 400,
                                                        maxRetryAfterSeconds: 5))
        #expect(destination.concurrency == 2)
        #expect(destination.timeoutMs == 2500)
        #expect(destination.overflow == .dropOldest)
        #expect(destination.identifiers.userId == "companyID")
        #expect(destination.identifiers.anonymousId == nil)
    }

    @Test("a partial batch keeps the kind's defaults for the keys it omits")
    func partialBatch() throws {
        let configuration = try ConfigurationLoader.parse(
            withDestination(#"{"name": "h", "type": "heap", "appID": "a", "batch": {"maxEvents": 10}}"#),
            environment: [:])
        #expect(configuration.destinations[0].batch == BatchConfiguration(maxEvents: 10, maxBytes: 1_000_000, maxDelayMs: 1000))
    }

    @Test("the engine knobs parse")
    func engineKnobs() throws {
        let configuration = try ConfigurationLoader.parse("""
            {"dedupe": {"enabled": false, "capacity": 10, "windowSeconds": 5},
             "input": {"maxLineBytes": 4096, "chunkSize": 64, "queueCapacity": 2},
             "drainTimeoutSeconds": 2.5}
            """, environment: [:])
        #expect(configuration.dedupe == DedupeConfiguration(enabled: false, capacity: 10, windowSeconds: 5))
        #expect(configuration.input == InputConfiguration(maxLineBytes: 4096, chunkSize: 64, queueCapacity: 2))
        #expect(configuration.drainTimeoutSeconds == 2.5)
    }

    @Test("anonymousId \"none\" omits the Segment anonymousId")
    func anonymousIdNone() throws {
        let configuration = try ConfigurationLoader.parse(
            withDestination(#"{"name": "o", "type": "stdout", "format": "segment", "identifiers": {"anonymousId": "none"}}"#),
            environment: [:])
        #expect(configuration.destinations[0].identifiers.anonymousId == nil)
        #expect(configuration.destinations[0].identifiers.userId == "userID")
    }

    @Test("a configuration file is read from disk")
    func loadFromFile() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-config-\(UUID().uuidString).json").path
        try Data(contractExample.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try ConfigurationLoader.load(contentsOfFile: path, environment: contractEnvironment)
        #expect(configuration.destinations.count == 7)
    }

    @Test("a missing file is an error naming the file")
    func missingFile() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(contentsOfFile: "/nonexistent/pipeline.json", environment: [:])
        }
        #expect(error?.description.contains("/nonexistent/pipeline.json") == true)
        #expect(error?.description.contains("No such file or directory") == true)
    }

    @Test("a configuration is read from a pipe, as --config <(make-config) passes it")
    func loadFromPipe() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-config-fifo-\(UUID().uuidString)").path
        #expect(mkfifo(path, 0o600) == 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let body = Data(contractExample.utf8)
        let writer = Thread {
            guard let handle = FileHandle(forWritingAtPath: path) else { return }
            handle.write(body)
            try? handle.close()
        }
        writer.start()
        let configuration = try ConfigurationLoader.load(contentsOfFile: path, environment: contractEnvironment)
        #expect(configuration.destinations.count == 7)
    }

    @Test("a directory given as the configuration is an error that says so")
    func directoryIsAnError() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(contentsOfFile: NSTemporaryDirectory(), environment: [:])
        }
        #expect(error?.description.contains("directory") == true)
    }

    // MARK: Unknown keys

    @Test("unknown keys are errors naming their path and the accepted keys", arguments: [
        (#"{"dedup": {}}"#, "dedup", "dedupe, filter, segmentInbound, input, drainTimeoutSeconds, destinations, statsigSpecs, experiments, serve, spool"),
        (#"{"dedupe": {"size": 1}}"#, "dedupe.size", "enabled, capacity, windowSeconds, shared, keyPrefix, username, password"),
        (#"{"filter": {"categorys": []}}"#, "filter.categorys", "categories, include, exclude"),
        (#"{"input": {"chunk": 1}}"#, "input.chunk", "maxLineBytes, chunkSize, queueCapacity, timestampUnit, redis"),
        (#"{"segmentInbound": {"anonymousId": "x"}}"#, "segmentInbound.anonymousId", "events, anonymousIdAs"),
        (withDestination(#"{"name": "a", "type": "stdout"}, {"name": "b", "type": "stdout"}, {"name": "c", "type": "stdout", "batch": {"maxEvnts": 1}}"#),
         "destinations[2].batch.maxEvnts", "maxEvents, maxBytes, maxDelayMs"),
        (withDestination(#"{"name": "c", "type": "stdout", "retry": {"attempts": 1}}"#),
         "destinations[0].retry.attempts", "maxAttempts, initialBackoffMs, maxBackoffMs, maxRetryAfterSeconds"),
        (withDestination(#"{"name": "c", "type": "stdout", "events": {"includes": []}}"#),
         "destinations[0].events.includes", "categories, include, exclude"),
        (withDestination(#"{"name": "h", "type": "heap", "appID": "a", "identifiers": {"anonymousId": "x"}}"#),
         "destinations[0].identifiers.anonymousId", "identity, userId"),
        (withDestination(#"{"name": "s", "type": "segment", "writeKey": "k", "identifiers": {"identity": "x"}}"#),
         "destinations[0].identifiers.identity", "userId, anonymousId"),
    ])
    func unknownKeys(json: String, keyPath: String, expected: String) throws {
        let error = try #require(loadError(json))
        #expect(error.keyPath == keyPath)
        #expect(error.message == "unknown key (expected one of \(expected))")
        #expect(error.description == "\(keyPath): unknown key (expected one of \(expected))")
    }

    @Test("a key of another destination type is unknown for this one")
    func keyOfAnotherType() throws {
        let error = try #require(loadError(withDestination(#"{"name": "s", "type": "segment", "writeKey": "k", "format": "heap"}"#)))
        #expect(error.keyPath == "destinations[0].format")
        #expect(error.message.hasPrefix("unknown key"))
        #expect(error.message.contains("writeKey"))
    }

    @Test("identifiers on a statsig-format destination are rejected")
    func identifiersOnStatsig() throws {
        let error = try #require(loadError(withDestination(#"{"name": "s", "type": "statsig", "apiKey": "k", "identifiers": {}}"#)))
        #expect(error.keyPath == "destinations[0].identifiers")
    }

    // MARK: Types

    @Test("wrong types name the path and the expected type", arguments: [
        (#"[]"#, "", "expected an object (got an array)"),
        (#"{"dedupe": {"enabled": "yes"}}"#, "dedupe.enabled", "expected a boolean (got a string)"),
        (#"{"dedupe": {"enabled": 1}}"#, "dedupe.enabled", "expected a boolean (got a number)"),
        (#"{"dedupe": {"capacity": true}}"#, "dedupe.capacity", "expected an integer (got a boolean)"),
        (#"{"dedupe": {"capacity": 1.5}}"#, "dedupe.capacity", "expected an integer (got a number)"),
        (#"{"dedupe": {"capacity": "10"}}"#, "dedupe.capacity", "expected an integer (got a string)"),
        (#"{"dedupe": []}"#, "dedupe", "expected an object (got an array)"),
        (#"{"drainTimeoutSeconds": null}"#, "drainTimeoutSeconds", "expected a number (got null)"),
        (#"{"filter": {"include": "*"}}"#, "filter.include", "expected an array (got a string)"),
        (#"{"filter": {"exclude": ["a", 3]}}"#, "filter.exclude[1]", "expected a string (got a number)"),
        (#"{"destinations": {}}"#, "destinations", "expected an array (got an object)"),
        (#"{"destinations": [5]}"#, "destinations[0]", "expected an object (got a number)"),
        (#"{"destinations": [{"name": 5, "type": "stdout"}]}"#, "destinations[0].name", "expected a string (got a number)"),
        (#"{"destinations": [{"name": "w", "type": "webhook", "url": "https://x.io", "headers": {"A": 1}}]}"#,
         "destinations[0].headers.A", "expected a string (got a number)"),
    ])
    func typeErrors(json: String, keyPath: String, message: String) throws {
        let error = try #require(loadError(json))
        #expect(error.keyPath == keyPath)
        #expect(error.message == message)
    }

    @Test("whole numbers written with a decimal point are accepted as integers")
    func integralDoubles() throws {
        let configuration = try ConfigurationLoader.parse(#"{"dedupe": {"capacity": 1e3}}"#, environment: [:])
        #expect(configuration.dedupe.capacity == 1000)
    }

    @Test("invalid JSON is reported as such")
    func invalidJSON() throws {
        let error = try #require(loadError(#"{"dedupe": "#))
        #expect(error.keyPath == "")
        #expect(error.message.hasPrefix("not valid JSON"))
    }

    @Test("a type error never quotes the value, which may be a secret")
    func typeErrorHidesValue() throws {
        let error = try #require(loadError(withDestination(#"{"name": "s", "type": "segment", "writeKey": ["my-secret-key"]}"#)))
        #expect(error.keyPath == "destinations[0].writeKey")
        #expect(!error.description.contains("my-secret-key"))
    }

    // MARK: Environment variables

    @Test("a missing environment variable names the path and the variable, and no secret")
    func missingVariable() throws {
        var environment = contractEnvironment
        environment["HEAP_APP_ID"] = nil
        let error = try #require(loadError(contractExample, environment: environment))
        #expect(error.keyPath == "destinations[3].appID")
        #expect(error.message.contains("HEAP_APP_ID"))
        for secret in contractEnvironment.values {
            #expect(!error.description.contains(secret))
        }
    }

    @Test("variables are substituted anywhere in a string, and $${ writes a literal ${")
    func substitution() throws {
        let configuration = try ConfigurationLoader.parse(withDestination("""
            {"name": "${NAME}-out", "type": "webhook", "url": "https://${HOST}/v1?k=$${KEEP}&cost=$5",
             "headers": {"X-Key": "${A}${B}"}}
            """), environment: ["NAME": "hook", "HOST": "example.com", "A": "left", "B": "right"])
        #expect(configuration.destinations[0].name == "hook-out")
        #expect(configuration.destinations[0].kind == .webhook(
            url: "https://example.com/v1?k=${KEEP}&cost=$5", headers: ["X-Key": "leftright"]))
    }

    @Test("malformed variable references are errors", arguments: [
        (#"${UNCLOSED"#, "unterminated"),
        (#"${}"#, "invalid environment variable name"),
        (#"${1ABC}"#, "invalid environment variable name"),
        (#"${A-B}"#, "invalid environment variable name"),
    ])
    func malformedReferences(text: String, messagePart: String) throws {
        let error = try #require(loadError(#"{"segmentInbound": {"anonymousIdAs": "\#(text)"}}"#))
        #expect(error.keyPath == "segmentInbound.anonymousIdAs")
        #expect(error.message.contains(messagePart))
    }

    @Test("variables in arrays are substituted and located by index")
    func arraySubstitution() throws {
        let configuration = try ConfigurationLoader.parse(
            #"{"filter": {"exclude": ["x", "${EXCLUDED}"]}}"#, environment: ["EXCLUDED": "Debug *"])
        #expect(configuration.filter.exclude == ["x", "Debug *"])
        let error = try #require(loadError(#"{"filter": {"exclude": ["x", "${EXCLUDED}"]}}"#))
        #expect(error.keyPath == "filter.exclude[1]")
        #expect(error.message.contains("EXCLUDED"))
    }

    // MARK: Validation

    @Test("destination rules are checked when loading", arguments: [
        (#"{"name": "f", "type": "file"}"#, "destinations[0].path", "required for a file destination"),
        (#"{"name": "s", "type": "segment"}"#, "destinations[0].writeKey", "required for a segment destination"),
        (#"{"name": "h", "type": "heap"}"#, "destinations[0].appID", "required for a heap destination"),
        (#"{"name": "s", "type": "statsig"}"#, "destinations[0].apiKey", "required for a statsig destination"),
        (#"{"name": "s", "type": "statsig-idlists"}"#, "destinations[0].apiKey", "required for a statsig-idlists destination"),
        (#"{"name": "w", "type": "webhook"}"#, "destinations[0].url", "required for a webhook destination"),
        (#"{"type": "stdout"}"#, "destinations[0].name", "required"),
        (#"{"name": "k", "type": "kafka"}"#, "destinations[0].type",
         "unknown destination type \"kafka\" (expected one of stdout, file, segment, heap, statsig, statsig-idlists, webhook, redis-stream)"),
        (#"{"name": "o", "type": "stdout", "format": "xml"}"#, "destinations[0].format",
         "expected one of statsig, segment, heap (got \"xml\")"),
        (#"{"name": "o", "type": "stdout", "overflow": "drop"}"#, "destinations[0].overflow",
         "expected one of block, drop_newest, drop_oldest (got \"drop\")"),
        (#"{"name": "s", "type": "segment", "writeKey": "k", "batch": {"maxBytes": 500001}}"#,
         "destinations[0].batch.maxBytes", "must be at most 500000, Segment's limit (got 500001)"),
        (#"{"name": "s", "type": "segment", "writeKey": "k", "batch": {"maxEvents": 2501}}"#,
         "destinations[0].batch.maxEvents", "must be at most 2500, Segment's limit (got 2501)"),
        (#"{"name": "h", "type": "heap", "appID": "a", "batch": {"maxEvents": 1001}}"#,
         "destinations[0].batch.maxEvents", "must be at most 1000, Heap's limit (got 1001)"),
        (#"{"name": "o", "type": "stdout", "batch": {"maxEvents": 0}}"#,
         "destinations[0].batch.maxEvents", "must be between 1 and 100000 (got 0)"),
        (#"{"name": "o", "type": "stdout", "batch": {"maxDelayMs": -1}}"#,
         "destinations[0].batch.maxDelayMs", "must be between 0 and 3600000 (got -1)"),
        (#"{"name": "o", "type": "stdout", "concurrency": 0}"#,
         "destinations[0].concurrency", "must be between 1 and 256 (got 0)"),
        (#"{"name": "o", "type": "stdout", "timeoutMs": -5}"#,
         "destinations[0].timeoutMs", "must be between 1 and 3600000 (got -5)"),
        (#"{"name": "o", "type": "stdout", "retry": {"maxAttempts": 0}}"#,
         "destinations[0].retry.maxAttempts", "must be between 1 and 1000000 (got 0)"),
        (#"{"name": "o", "type": "stdout", "retry": {"initialBackoffMs": 500, "maxBackoffMs": 100}}"#,
         "destinations[0].retry.maxBackoffMs", "must be at least initialBackoffMs (500)"),
        (#"{"name": "o", "type": "stdout", "retry": {"maxRetryAfterSeconds": 3601}}"#,
         "destinations[0].retry.maxRetryAfterSeconds", "must be between 0 and 3600 (got 3601)"),
        (#"{"name": "o", "type": "stdout", "retry": {"maxRetryAfterSeconds": -1}}"#,
         "destinations[0].retry.maxRetryAfterSeconds", "must be between 0 and 3600 (got -1)"),
        (#"{"name": "s", "type": "segment", "writeKey": "k", "endpoint": "api.segment.io"}"#,
         "destinations[0].endpoint", "must be an absolute http or https URL"),
        (#"{"name": "w", "type": "webhook", "url": "ftp://example.com/x"}"#,
         "destinations[0].url", "must be an absolute http or https URL"),
        (#"{"name": "w", "type": "webhook", "url": "https://example.com", "headers": {"Bad Header": "v"}}"#,
         "destinations[0].headers", "\"Bad Header\" is not a valid HTTP header name"),
        (#"{"name": "s", "type": "segment", "writeKey": ""}"#, "destinations[0].writeKey", "must not be empty"),
        (#"{"name": "o", "type": "stdout", "events": {"categories": ["custom", "exposures"]}}"#,
         "destinations[0].events.categories[1]",
         "unknown category \"exposures\" (expected one of custom, gate_exposure, config_exposure, experiment_exposure, layer_exposure, initialize, internal)"),
    ])
    func destinationValidation(destination: String, keyPath: String, message: String) throws {
        let error = try #require(loadError(withDestination(destination)))
        #expect(error.keyPath == keyPath)
        #expect(error.message == message)
    }

    @Test("engine limits must be positive", arguments: [
        (#"{"dedupe": {"capacity": 0}}"#, "dedupe.capacity"),
        (#"{"dedupe": {"windowSeconds": -1}}"#, "dedupe.windowSeconds"),
        (#"{"input": {"maxLineBytes": 0}}"#, "input.maxLineBytes"),
        (#"{"input": {"chunkSize": 0}}"#, "input.chunkSize"),
        (#"{"input": {"queueCapacity": 0}}"#, "input.queueCapacity"),
        (#"{"drainTimeoutSeconds": -1}"#, "drainTimeoutSeconds"),
        (#"{"segmentInbound": {"anonymousIdAs": ""}}"#, "segmentInbound.anonymousIdAs"),
    ])
    func engineLimits(json: String, keyPath: String) throws {
        let error = try #require(loadError(json))
        #expect(error.keyPath == keyPath)
    }

    @Test("destination names must be unique")
    func duplicateNames() throws {
        let error = try #require(loadError(withDestination(
            #"{"name": "out", "type": "stdout"}, {"name": "other", "type": "stdout"}, {"name": "out", "type": "file", "path": "x"}"#)))
        #expect(error.keyPath == "destinations[2].name")
        #expect(error.message == "duplicate destination name \"out\" (also destinations[0].name)")
    }

    @Test("an unknown global filter category is an error")
    func unknownFilterCategory() throws {
        let error = try #require(loadError(#"{"filter": {"categories": ["gate_exposures"]}}"#))
        #expect(error.keyPath == "filter.categories[0]")
        #expect(error.message.hasPrefix("unknown category \"gate_exposures\""))
    }

    @Test("validation of a hand-built configuration lists every problem in order")
    func validationListsAll() {
        var configuration = PipelineConfiguration(destinations: [
            DestinationConfiguration(name: "a", kind: .segment(writeKey: "k"),
                                     batch: BatchConfiguration(maxEvents: 3000, maxBytes: 600_000, maxDelayMs: 10)),
            DestinationConfiguration(name: "a", kind: .heap(endpoint: "not a url", appID: "")),
        ])
        configuration.dedupe.capacity = 0
        #expect(configuration.validationErrors().map(\.keyPath) == [
            "dedupe.capacity",
            "destinations[0].batch.maxEvents",
            "destinations[0].batch.maxBytes",
            "destinations[1].name",
            "destinations[1].endpoint",
            "destinations[1].appID",
        ])
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }

    @Test("a configuration without destinations is valid: the pipeline falls back to stdout or code-supplied destinations")
    func noDestinations() {
        let configuration = PipelineConfiguration(destinations: [])
        #expect(configuration.validationErrors().isEmpty)
    }

    @Test("validation errors never contain a secret")
    func validationHidesSecrets() throws {
        let json = withDestination(
            #"{"name": "w", "type": "webhook", "url": "https://example.com/${TOKEN}x y", "headers": {"A": "${TOKEN}"}}"#)
        let error = try #require(loadError(json, environment: ["TOKEN": "tok-very-secret"]))
        #expect(error.keyPath == "destinations[0].url")
        #expect(!error.description.contains("tok-very-secret"))
    }

    @Test("an error with an empty key path prints only its message")
    func errorDescription() {
        #expect(ConfigurationError(keyPath: "", message: "not valid JSON").description == "not valid JSON")
        #expect(ConfigurationError(keyPath: "a.b", message: "bad").description == "a.b: bad")
    }
}
