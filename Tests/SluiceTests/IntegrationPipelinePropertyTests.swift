import Foundation
import Testing
@testable import Sluice

/// Random mixes of Statsig and Segment input through the public `Pipeline` with file destinations of every
/// format: every event is accounted per destination, outputs are valid JSON, and nothing private leaks.
@Suite("Integrations through the pipeline: accounting and privacy properties")
struct IntegrationPipelinePropertyTests {
    /// Seeded random input lines: Statsig events and bodies, Segment messages and batches, duplicates and invalid lines.
    struct InputGenerator {
        var random: SplitMix64

        mutating func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
        mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

        mutating func user() -> String {
            var members: [String] = []
            switch random.next() % 4 {
            case 0: members.append(#""userID":"u-\#(random.next() % 50)""#)
            case 1: members.append(#""userID":"""#)
            case 2: members.append(#""userID":\#(random.next() % 1000)"#)
            default: break
            }
            if chance(60) {
                var ids: [String] = []
                if chance(70) { ids.append(#""stableID":"s-\#(random.next() % 80)""#) }
                if chance(40) { ids.append(#""companyID":"c-\#(random.next() % 9)""#) }
                members.append(#""customIDs":{\#(ids.joined(separator: ","))}"#)
            }
            if chance(30) { members.append(#""email":"p\#(random.next() % 20)@example.com""#) }
            if chance(40) { members.append(#""privateAttributes":{"ssn":"PII-SECRET-\#(random.next() % 100)"}"#) }
            return "{\(members.joined(separator: ","))}"
        }

        mutating func statsigEvent() -> String {
            let name = pick(["purchase", "checkout ✓", "statsig::gate_exposure", "statsig::config_exposure",
                             "statsig::experiment_exposure", "statsig::layer_exposure", "statsig::diagnostics",
                             "statsig::initialize", "debug_ping"])
            let value = pick([#","value":12.5"#, #","value":"gold""#, #","value":null"#, ""])
            let metadata = name == "statsig::initialize"
                ? #","metadata":{"gates":{"g1":true,"g2":false},"experiments":{"exp":"Test"}}"#
                : pick([#","metadata":{"gate":"g","gateValue":"true"}"#, #","metadata":{"a":{"b":[1,"x",null]},"ü":"ß"}"#, ""])
            let blob = chance(2) ? #","metadata":{"blob":"\#(String(repeating: "z", count: 40_000))"}"# : ""
            return #"{"eventName":"\#(name)","user":\#(user())\#(value)\#(blob.isEmpty ? metadata : blob),"time":\#(1_714_564_800_000 + Int(random.next() % 100_000))}"#
        }

        mutating func segmentMessage() -> String {
            let who = pick([#""userId":"u-\#(random.next() % 50)""#, #""anonymousId":"an-\#(random.next() % 50)""#,
                            #""userId":"u-\#(random.next() % 50)","anonymousId":"an-\#(random.next() % 50)""#, #""userId":"""#])
            let ids = pick(["", #","statsigCustomIDs":["companyID","c-1"]"#, #","statsigCustomIDs":["companyID"]"#])
            let common = #"\#(who),"messageId":"m-\#(random.next() % 400)","timestamp":"2024-05-01T12:00:00.000Z""#
            switch random.next() % 7 {
            case 0, 1: return #"{"type":"track","event":"\#(pick(["Order Completed", "Signed Up", "Ünïcode"]))",\#(common),"properties":{"revenue":3\#(ids)}}"#
            case 2: return #"{"type":"page","name":"Home",\#(common),"properties":{"path":"/"\#(ids)}}"#
            case 3: return #"{"type":"screen","name":"Settings",\#(common)}"#
            case 4: return #"{"type":"identify",\#(common),"traits":{"vip":\#(chance(50))},"context":{"personas":{"computation_class":"audience","computation_key":"vip"}}}"#
            case 5: return #"{"type":"\#(pick(["group", "alias", "identify"]))",\#(common),"traits":{}}"#
            default: return #"{"batch":[\#(segmentInner()),\#(segmentInner())],"context":{"ip":"192.0.2.1"}}"#
            }
        }

        mutating func segmentInner() -> String {
            #"{"type":"track","event":"Batched","userId":"u-\#(random.next() % 50)","messageId":"b-\#(random.next() % 400)","timestamp":"2024-05-01T12:00:00Z"}"#
        }

        mutating func line() -> String {
            switch random.next() % 10 {
            case 0: return #"{"events":[\#(statsigEvent()),\#(statsigEvent())],"statsigMetadata":{"sdkType":"py"}}"#
            case 1: return pick([#"{"eventName":"#, "not json", #"{"type":"track"}"#])
            case 2, 3, 4: return segmentMessage()
            default: return statsigEvent()
            }
        }

        mutating func lines(_ n: Int) -> [String] {
            var out: [String] = []
            for _ in 0..<n {
                let l = line()
                out.append(l)
                if chance(10) { out.append(l) }  // an SDK retry
            }
            return out
        }
    }

    static func lines(of path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test("every event is delivered, filtered or dead-lettered with a reason; outputs are valid; nothing private leaks",
          arguments: [1, 42, 2024] as [UInt64])
    func accounting(seed: UInt64) async throws {
        var generator = InputGenerator(random: SplitMix64(seed: seed))
        let input = generator.lines(250).joined(separator: "\n") + "\n"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-integrations-\(seed)-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let stdoutPath = path("stdout.ndjson")
        let stdoutFD = open(stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(stdoutFD) }

        let destinations = [
            DestinationConfiguration(name: "statsig", kind: .file(path: path("statsig.ndjson"), format: .statsig)),
            DestinationConfiguration(name: "segment", kind: .file(path: path("segment.ndjson"), format: .segment)),
            DestinationConfiguration(name: "heap", kind: .file(path: path("heap.ndjson"), format: .heap)),
            DestinationConfiguration(name: "segment-selected", kind: .file(path: path("segment-selected.ndjson"), format: .segment),
                                     events: EventSelection(categories: [.gateExposure, .custom], exclude: ["segment_page:*"]),
                                     identifiers: IdentifierMapping(userId: "userID", anonymousId: "companyID")),
            DestinationConfiguration(name: "heap-company", kind: .file(path: path("heap-company.ndjson"), format: .heap),
                                     identifiers: IdentifierMapping(identity: "companyID")),
            DestinationConfiguration(name: "stdout", kind: .stdout(format: .segment)),
        ]
        let configuration = PipelineConfiguration(segmentInbound: SegmentInboundConfiguration(events: ["Order *", "Batched", "segment_page:*", "Settings"]),
                                                  destinations: destinations)
        let pipeline = try Pipeline(configuration: configuration,
                                    options: PipelineOptions(input: .bytes(Array(input.utf8)), deadLetterPath: path("dead.ndjson"),
                                                             standardOutput: stdoutFD))
        let summary = try await pipeline.run()

        #expect(summary.isBalanced)
        #expect(summary.ingested > 200 && summary.invalid > 0 && summary.duplicates > 0 && summary.filtered > 0)
        #expect(summary.filteredByReason.values.reduce(0, +) == summary.filtered)
        let expected = summary.ingested - summary.duplicates - summary.filtered
        for (name, counts) in summary.destinations {
            #expect(counts.delivered + counts.filtered + counts.deadLettered == expected, "destination \(name)")
            #expect(counts.dropped == 0)
            #expect(counts.filteredByReason.values.reduce(0, +) == counts.filtered, "destination \(name)")
            #expect(!counts.filteredByReason.keys.contains(""), "destination \(name)")
        }
        // Segment and Heap need an identity; the selected destination filters by category and name.
        #expect(summary.destinations["segment"]!.filteredByReason[FilterReason.noIdentity.description, default: 0] > 0)
        #expect(summary.destinations["heap-company"]!.filteredByReason[FilterReason.noIdentity.description, default: 0] > 0)
        #expect(summary.destinations["segment-selected"]!.filteredByReason[FilterReason.categoryNotSelected.description, default: 0] > 0)
        #expect(summary.destinations["segment"]!.deadLettered > 0 || !input.contains("zzzzzzzz"))

        let outputs = ["statsig", "segment", "heap", "segment-selected", "heap-company"].map { ($0, Self.lines(of: path("\($0).ndjson"))) }
            + [("stdout", Self.lines(of: stdoutPath))]
        for (name, lines) in outputs {
            let counts = summary.destinations[name]!
            let extraHeapLines = lines.filter { $0.contains("\"event\":\"Statsig Experiments\"") }.count
            #expect(lines.count == counts.delivered + (name.hasPrefix("heap") ? extraHeapLines : 0), "destination \(name)")
            for line in lines {
                #expect(IntegrationFixtures.object(line) != nil, "\(name) wrote invalid JSON: \(line.prefix(200))")
                #expect(!line.contains("privateAttributes") && !line.contains("PII-SECRET"), "\(name) leaked: \(line.prefix(200))")
            }
        }
        let deadLetters = Self.lines(of: path("dead.ndjson")).compactMap(IntegrationFixtures.object)
        let undeliverable = deadLetters.filter { $0["kind"] as? String == "undeliverable" }
        #expect(undeliverable.count == summary.destinations.values.reduce(0) { $0 + $1.deadLettered })
        #expect(undeliverable.allSatisfy { ($0["reason"] as? String)?.isEmpty == false })
        for record in undeliverable {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: record["event"] ?? [:]), as: UTF8.self)
            #expect(!text.contains("privateAttributes") && !text.contains("PII-SECRET"))
        }
    }

    @Test("HTTP destination bodies carry no configured secret except Heap's app_id, which its API requires in the body",
          arguments: [7, 8] as [UInt64])
    func noSecretsInBodies(seed: UInt64) async throws {
        var generator = InputGenerator(random: SplitMix64(seed: seed))
        let (chunk, _) = IntegrationFixtures.decode(generator.lines(150))
        let secrets = ["WRITEKEY-s3cr3t", "APP-ID-77", "STATSIG-SECRET-1", "CONSOLE-SECRET-2", "Bearer HOOK-TOKEN-3"]
        let configuration = PipelineConfiguration(destinations: [
            DestinationConfiguration(name: "segment", kind: .segment(writeKey: secrets[0])),
            DestinationConfiguration(name: "heap", kind: .heap(appID: secrets[1])),
            DestinationConfiguration(name: "statsig", kind: .statsig(apiKey: secrets[2])),
            DestinationConfiguration(name: "audiences", kind: .statsigIDLists(apiKey: secrets[3])),
            DestinationConfiguration(name: "hook", kind: .webhook(url: "https://example.com/h", headers: ["Authorization": secrets[4]])),
        ])
        let factory = DestinationFactory(options: PipelineOptions(), redactor: Redactor(secrets: configuration.secrets))
        for destination in configuration.destinations {
            let encoder = try factory.makeEncoder(for: destination)
            let out = await IntegrationFixtures.encode(chunk, rule: DestinationFactory.rule(for: destination), encoder: encoder)
            let body = String(decoding: encoder.prefix, as: UTF8.self) + out.items.joined(separator: String(decoding: encoder.separator, as: UTF8.self)) + String(decoding: encoder.suffix, as: UTF8.self)
            #expect(IntegrationFixtures.object(body) != nil, "\(destination.name) body is not one JSON object")
            for secret in secrets where !(destination.name == "heap" && secret == "APP-ID-77") {
                #expect(!body.contains(secret), "\(destination.name) body contains a secret")
            }
            #expect(!body.contains("privateAttributes") && !body.contains("PII-SECRET"))
        }
    }
}
