import Foundation
import Testing
@testable import Sluice

@Suite("IdentifierMapper: Map Identifiers and per-destination selection")
struct IdentifierMapperTests {
    static let line = #"{"eventName":"e","user":{"userID":"u","email":"e@x","customIDs":{"stableID":"s","companyID":"c","orgID":""}},"unitID":"unit-1","time":1}"#

    func identity(_ rule: IdentityRule, _ lines: [String] = [line]) async -> (ids: [[String?]], filtered: [FilterReason: Int]) {
        let (chunk, _) = IntegrationFixtures.decode(lines)
        let accounting = Accounting(destinations: ["d"])
        let mapper = IdentifierMapper(destination: "d", selection: EventSelection(), rule: rule, accounting: accounting)
        let mapped = await mapper.map(chunk)
        let ids = mapped.identities.map { [chunk.string($0.primary), chunk.string($0.secondary), chunk.string($0.unitID)] }
        return (ids, accounting.snapshot.destinations["d"]!.filteredByReason)
    }

    @Test("every identifier source resolves: userID, stableID, email, unitID and custom ID types")
    func sources() async {
        #expect(await identity(.heap(identity: .userID)).ids == [["u", nil, "unit-1"]])
        #expect(await identity(.heap(identity: .stableID)).ids == [["s", nil, "unit-1"]])
        #expect(await identity(.heap(identity: .email)).ids == [["e@x", nil, "unit-1"]])
        #expect(await identity(.heap(identity: .unitID)).ids == [["unit-1", nil, "unit-1"]])
        #expect(await identity(.heap(identity: .customID("companyID"))).ids == [["c", nil, "unit-1"]])
        #expect(await identity(.segment(userId: .customID("companyID"), anonymousId: .email)).ids == [["c", "e@x", "unit-1"]])
        #expect(IdentifierSource("stableID") == .stableID && IdentifierSource("orgID") == .customID("orgID"))
    }

    @Test("an empty custom ID, a missing type and an empty unitID count as absent")
    func emptyIsAbsent() async {
        let org = await identity(.heap(identity: .customID("orgID")))
        #expect(org.ids.isEmpty && org.filtered == [.noIdentity: 1])
        let missing = await identity(.segment(userId: .customID("teamID"), anonymousId: nil))
        #expect(missing.filtered == [.noIdentity: 1])
        let unit = await identity(.none, [#"{"eventName":"e","user":{"userID":"u"},"unitID":"","time":1}"#,
                                          #"{"eventName":"e","user":{"userID":"","customIDs":{"stableID":"s"}},"time":1}"#])
        #expect(unit.ids.map { $0[2] } == ["u", "s"])
    }

    @Test("the Statsig formats need no identity: events without any ID still pass")
    func statsigNeedsNone() async {
        let result = await identity(.none, [#"{"eventName":"e","time":1}"#])
        #expect(result.ids == [[nil, nil, nil]])
        #expect(result.filtered.isEmpty)
    }

    @Test("the factory picks the encoder of every kind and format")
    func factoryEncoders() throws {
        let factory = DestinationFactory(options: PipelineOptions(), redactor: Redactor(secrets: []))
        func encoder(_ kind: DestinationConfiguration.Kind) throws -> String {
            String(describing: type(of: try factory.makeEncoder(for: DestinationConfiguration(name: "d", kind: kind))))
        }
        #expect(try encoder(.stdout(format: .statsig)) == "StatsigExportLinesEncoder")
        #expect(try encoder(.stdout(format: .segment)) == "SegmentFormat")
        #expect(try encoder(.file(path: "/tmp/x", format: .heap)) == "HeapFormat")
        #expect(try encoder(.segment(writeKey: "k")) == "SegmentFormat")
        #expect(try encoder(.heap(appID: "a")) == "HeapFormat")
        #expect(try encoder(.statsig(apiKey: "k")) == "StatsigLogEventFormat")
        #expect(try encoder(.statsigIDLists(apiKey: "k")) == "StatsigIDListFormat")
        #expect(try encoder(.webhook(url: "https://example.com")) == "WebhookFormat")
        let lines = try factory.makeEncoder(for: DestinationConfiguration(name: "d", kind: .stdout(format: .heap)))
        let bulk = try factory.makeEncoder(for: DestinationConfiguration(name: "d", kind: .heap(appID: "a")))
        #expect(lines.prefix.isEmpty && lines.separator == [0x0A])
        #expect(String(decoding: bulk.prefix, as: UTF8.self) == #"{"app_id":"a","events":["#)
    }
}
