import Foundation
import Testing
@testable import Sluice

@Suite("Heap output: Statsig events as Heap track events")
struct HeapFormatTests {
    func heap(_ lines: [String], rule: IdentityRule = IntegrationFixtures.heapRule) async -> IntegrationFixtures.Encoded {
        let (chunk, invalid) = IntegrationFixtures.decode(lines)
        #expect(invalid.isEmpty)
        return await IntegrationFixtures.encode(chunk, rule: rule, encoder: HeapFormat(appID: nil))
    }

    @Test("a gate exposure becomes a Heap track event with flattened metadata, byte for byte")
    func goldenExposure() async {
        let out = await heap([SegmentFormatTests.exposure])
        #expect(out.items == [#"{"identity":"u-1","event":"statsig::gate_exposure","timestamp":"2024-05-01T12:00:00.250Z","idempotency_key":"5779e680-e643-11f1-8cbb-0242ac120002","properties":{"metadata.gate":"new_checkout","metadata.gateValue":"true","metadata.ruleID":"rule_1"}}"#])
    }

    @Test("nested objects flatten to dotted keys, arrays join, booleans become strings, nulls are left out")
    func flattening() async throws {
        let out = await heap([#"{"eventName":"e","user":{"userID":"u"},"value":3,"metadata":{"a":{"b":{"c":1}},"tags":["x","y\"z",2,true,null],"ok":false,"none":null,"emptyObject":{},"s":"ü ✓"},"time":1}"#])
        let event = try #require(IntegrationFixtures.object(out.items[0]))
        let properties = try #require(event["properties"] as? [String: Any])
        #expect(properties["value"] as? Int == 3)
        #expect(properties["metadata.a.b.c"] as? Int == 1)
        #expect(properties["metadata.tags"] as? String == "x,y\"z,2,true")
        #expect(properties["metadata.ok"] as? String == "false")
        #expect(properties["metadata.s"] as? String == "ü ✓")
        #expect(properties.count == 5)
    }

    @Test("string values are cut below 1024 characters without splitting a character")
    func valueCut() async throws {
        let long = String(repeating: "a", count: 1022) + "😀😀"
        let out = await heap([#"{"eventName":"e","user":{"userID":"u"},"value":"\#(long)","metadata":{"k":"\#(String(repeating: "b", count: 5000))"},"time":1}"#])
        let properties = try #require(IntegrationFixtures.object(out.items[0])?["properties"] as? [String: String])
        #expect(properties["value"] == String(repeating: "a", count: 1022))
        #expect(properties["metadata.k"]?.utf16.count == 1023)
    }

    @Test("identity over 255 characters and event names over 1024 are refused with reasons")
    func limits() async {
        let out = await heap([
            #"{"eventName":"e","user":{"userID":"\#(String(repeating: "u", count: 256))"},"time":1}"#,
            #"{"eventName":"e","user":{"userID":"\#(String(repeating: "é", count: 255))"},"time":1}"#,
            #"{"eventName":"\#(String(repeating: "n", count: 1025))","user":{"userID":"u"},"time":1}"#,
        ])
        #expect(out.refusals == ["Heap identity longer than 255 characters", "Heap event name longer than 1024 characters"])
        #expect(out.items.count == 1)
    }

    @Test("identity from a custom ID type; events without it, or with an empty one, are filtered as no identity")
    func identity() async throws {
        let out = await heap([
            #"{"eventName":"e","user":{"userID":"u","customIDs":{"companyID":"acme"}},"time":1}"#,
            #"{"eventName":"e","user":{"userID":"u","customIDs":{"companyID":""}},"time":1}"#,
            #"{"eventName":"e","user":{"userID":"u"},"time":1}"#,
        ], rule: .heap(identity: .customID("companyID")))
        #expect(out.items.count == 1)
        #expect(IntegrationFixtures.object(out.items[0])?["identity"] as? String == "acme")
        #expect(out.filtered == [.noIdentity: 2])
        let byUser = await heap([#"{"eventName":"e","user":{"userID":"","customIDs":{"stableID":"s"}},"time":1}"#])
        #expect(byUser.filtered == [.noIdentity: 1])
    }

    @Test("an initialize record becomes Statsig Feature Gates and Statsig Experiments events with stable keys")
    func initialize() async throws {
        let record = #"{"eventName":"statsig::initialize","user":{"userID":"u-1"},"time":1714564800000,"metadata":{"gates":{"new_checkout":true,"dark_mode":false},"experiments":{"pricing_test":"Control"}}}"#
        let out = await heap([record, record])
        let items = out.items[0].split(separator: "\n").map(String.init)
        #expect(items.count == 2)
        let gates = try #require(IntegrationFixtures.object(items[0]))
        let experiments = try #require(IntegrationFixtures.object(items[1]))
        #expect(gates["event"] as? String == "Statsig Feature Gates")
        #expect(gates["properties"] as? [String: String] == ["new_checkout": "true", "dark_mode": "false"])
        #expect(experiments["event"] as? String == "Statsig Experiments")
        #expect(experiments["properties"] as? [String: String] == ["pricing_test": "Control"])
        #expect(gates["identity"] as? String == "u-1")
        #expect(gates["timestamp"] as? String == "2024-05-01T12:00:00.000Z")
        let keys = [gates["idempotency_key"] as? String, experiments["idempotency_key"] as? String]
        #expect(keys[0] != keys[1])
        #expect(out.items[0] == out.items[1])  // a retried record keeps its idempotency keys
    }

    @Test("an initialize record with neither gates nor experiments is refused; with only gates it is one event")
    func initializePartial() async {
        let out = await heap([
            #"{"eventName":"statsig::initialize","user":{"userID":"u"},"time":1,"metadata":{}}"#,
            #"{"eventName":"statsig::initialize","user":{"userID":"u"},"time":1,"metadata":{"gates":{"g":true}}}"#,
        ])
        #expect(out.refusals.count == 1)
        #expect(out.items.count == 1)
        #expect(!out.items[0].contains("\n"))
    }

    @Test("the HTTP framing is {\"app_id\":..,\"events\":[...]}")
    func bulkFraming() async throws {
        let encoder = HeapFormat(appID: "12345")
        let out = await heap([SegmentFormatTests.exposure])
        let body = String(decoding: encoder.prefix + Array(out.items[0].utf8) + encoder.suffix, as: UTF8.self)
        let object = try #require(IntegrationFixtures.object(body))
        #expect(object["app_id"] as? String == "12345")
        #expect((object["events"] as? [Any])?.count == 1)
    }
}
