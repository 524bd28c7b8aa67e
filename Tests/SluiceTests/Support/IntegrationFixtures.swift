import Foundation
@testable import Sluice

/// Decodes input lines and runs events through a destination's identity rules and encoder, the way the pipeline
/// does, so format tests see exactly what a destination would send.
enum IntegrationFixtures {
    /// Decoder options for hand-written format fixtures, whose events carry tiny times (`"time":1`).
    static var fixtureOptions: DecoderOptions {
        var options = DecoderOptions()
        options.checksSecondsLikeTimes = false
        return options
    }

    static func decode(_ lines: [String], options: DecoderOptions = fixtureOptions) -> (EventChunk, [InvalidInput]) {
        var decoder = InputDecoder(options: options)
        var chunk = EventChunk()
        var invalid: [InvalidInput] = []
        for (i, line) in lines.enumerated() {
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { _ = decoder.decode(UnsafeRawBufferPointer($0), line: i + 1, into: &chunk, invalid: &invalid) }
        }
        return (chunk, invalid)
    }

    /// What one destination does with a chunk: per selected event its item text or its refusal, plus the
    /// destination's filter counts.
    struct Encoded {
        var items: [String] = []
        var refusals: [String] = []
        var filtered: [FilterReason: Int] = [:]
        var keys: [[UInt8]?] = []
    }

    static func encode(_ chunk: EventChunk, rule: IdentityRule, encoder: any EventEncoder,
                       selection: EventSelection = EventSelection()) async -> Encoded {
        let accounting = Accounting(destinations: ["d"])
        let mapper = IdentifierMapper(destination: "d", selection: selection, rule: rule, accounting: accounting)
        let mapped = await mapper.map(chunk)
        var result = Encoded()
        result.filtered = accounting.snapshot.destinations["d"]!.filteredByReason
        chunk.withArena { arena in
            for (k, index) in mapped.selected.enumerated() {
                var out: [UInt8] = []
                let event = chunk.events[Int(index)]
                if let reason = encoder.encode(event, identity: mapped.identities[k], arena: arena, into: &out) {
                    result.refusals.append(reason)
                } else {
                    result.items.append(String(decoding: out, as: UTF8.self))
                }
                result.keys.append(encoder.batchKey(event, arena: arena))
            }
        }
        return result
    }

    static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    static let segmentRule = IdentityRule.segment(userId: .userID, anonymousId: .stableID)
    static let heapRule = IdentityRule.heap(identity: .userID)
}
