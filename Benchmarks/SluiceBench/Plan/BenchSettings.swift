import Foundation
import Sluice

/// Where a benchmarked pipeline delivers its events.
enum DestinationMode: String, Codable, Sendable, CaseIterable {
    /// A custom `Destination` that discards each batch: measures the engine plus the custom-destination hand-off.
    case null
    /// A stdout destination writing its format's full encoding to /dev/null: the CLI's path minus the terminal.
    case devnull
    /// An HTTP destination of the format's service posting to a loopback server run by the harness.
    case http
    /// A stdout destination whose selection admits no event: everything but encoding and writing, the
    /// baseline that per-format encoding costs are measured against.
    case selectNone = "none"
}

/// One benchmark configuration: the workload and every tuning knob the engine exposes.
///
/// `nil` batch and concurrency values mean "the destination kind's default", so the baseline measures what a
/// user gets without tuning.
struct BenchSettings: Codable, Sendable, Equatable, Hashable {
    // Workload (the generator's options).
    var events = 200_000
    var dupRate = 0.05
    var invalidRate = 0.0
    var users = 10_000
    var payloadBytes = 0
    var seed: UInt64 = 1

    // Engine knobs.
    var chunkSize = InputConfiguration().chunkSize
    var queueCapacity = InputConfiguration().queueCapacity
    var maxEvents: Int?
    var maxBytes: Int?
    var maxDelayMs: Int?
    var concurrency: Int?
    var dedupe = true
    var dedupeCapacity = DedupeConfiguration().capacity
    var overflow = OverflowPolicy.block.rawValue

    // Destinations.
    var destination = DestinationMode.devnull
    var format = OutputFormat.statsig.rawValue
    /// Identical destinations fanned out to: measures the cost of each extra branch.
    var destinations = 1
    /// How long the loopback HTTP server waits before answering (`http` only).
    var latencyMs = 0
    /// The disk spool's sync mode, or `off` for no spool (each run gets a fresh spool directory).
    var spool = "off"

    /// The settings that determine the generated input: configurations sharing them share one input file.
    var workloadKey: String { "e\(events)-d\(dupRate)-i\(invalidRate)-u\(users)-p\(payloadBytes)-s\(seed)" }

    /// The generator options for this workload.
    var generatorOptions: EventGenerator.Options {
        EventGenerator.Options(events: events, duplicateRate: dupRate, invalidRate: invalidRate, users: users,
                               extraMetadataBytes: payloadBytes, seed: seed)
    }
}

/// A settable knob: its name on the command line, how to read its value, and how to print it.
struct Knob: Sendable {
    let name: String
    let aliases: [String]
    let help: String
    let set: @Sendable (inout BenchSettings, String) -> Bool
    let get: @Sendable (BenchSettings) -> String

    /// Every knob, workload first; `--sweep` and `--set` accept any of these names (or an alias).
    static let all: [Knob] = [
        int("events", [], "valid events generated (duplicates included)", \.events, min: 1),
        double("dupRate", ["duplicateRate"], "fraction of events that repeat a recent event", \.dupRate),
        double("invalidRate", [], "fraction of lines that are broken", \.invalidRate),
        int("users", [], "distinct users", \.users, min: 1),
        int("payloadBytes", ["extraMetadataBytes"], "padding added to custom events' metadata", \.payloadBytes, min: 0),
        Knob(name: "seed", aliases: [], help: "generator seed",
             set: { s, v in guard let x = UInt64(v) else { return false }; s.seed = x; return true },
             get: { String($0.seed) }),
        int("chunkSize", ["input.chunkSize"], "events per chunk between stages", \.chunkSize, min: 1),
        int("queueCapacity", ["input.queueCapacity"], "chunks buffered between two stages", \.queueCapacity, min: 1),
        optionalInt("maxEvents", ["batch.maxEvents"], "events per batch (default: by destination kind)", \.maxEvents),
        optionalInt("maxBytes", ["batch.maxBytes"], "bytes per batch (default: by destination kind)", \.maxBytes),
        optionalInt("maxDelayMs", ["batch.maxDelayMs"], "batch delay limit (default: by destination kind)", \.maxDelayMs, min: 0),
        optionalInt("concurrency", [], "sends in flight per destination (default: 1 local, 4 HTTP)", \.concurrency),
        Knob(name: "dedupe", aliases: ["dedupe.enabled"], help: "de-duplication on|off",
             set: { s, v in
                 switch v.lowercased() {
                 case "on", "true", "1", "yes": s.dedupe = true
                 case "off", "false", "0", "no": s.dedupe = false
                 default: return false
                 }
                 return true
             },
             get: { $0.dedupe ? "on" : "off" }),
        int("dedupeCapacity", ["dedupe.capacity"], "event IDs the dedupe table remembers", \.dedupeCapacity, min: 1),
        Knob(name: "overflow", aliases: [], help: "block | drop_newest | drop_oldest",
             set: { s, v in guard OverflowPolicy(rawValue: v) != nil else { return false }; s.overflow = v; return true },
             get: { $0.overflow }),
        Knob(name: "destination", aliases: ["dest"], help: "null | devnull | http | none",
             set: { s, v in guard let d = DestinationMode(rawValue: v) else { return false }; s.destination = d; return true },
             get: { $0.destination.rawValue }),
        Knob(name: "format", aliases: [], help: "statsig | segment | heap",
             set: { s, v in guard OutputFormat(rawValue: v) != nil else { return false }; s.format = v; return true },
             get: { $0.format }),
        int("destinations", [], "identical destinations fanned out to", \.destinations, min: 1),
        int("latencyMs", [], "loopback HTTP server delay before answering", \.latencyMs, min: 0),
        Knob(name: "spool", aliases: ["spool.sync"], help: "off | always | interval | none (a fresh spool per run)",
             set: { s, v in
                 guard v == "off" || SpoolConfiguration.SyncMode(rawValue: v) != nil else { return false }
                 s.spool = v
                 return true
             },
             get: { $0.spool }),
    ]

    /// The knob called `name` (case-insensitive, aliases included).
    static func named(_ name: String) -> Knob? {
        let lower = name.lowercased()
        return all.first { $0.name.lowercased() == lower || $0.aliases.contains { $0.lowercased() == lower } }
    }

    private static func int(_ name: String, _ aliases: [String], _ help: String,
                            _ path: WritableKeyPath<BenchSettings, Int> & Sendable, min: Int = 1) -> Knob {
        Knob(name: name, aliases: aliases, help: help,
             set: { s, v in guard let x = parseInt(v), x >= min else { return false }; s[keyPath: path] = x; return true },
             get: { String($0[keyPath: path]) })
    }

    private static func optionalInt(_ name: String, _ aliases: [String], _ help: String,
                                    _ path: WritableKeyPath<BenchSettings, Int?> & Sendable, min: Int = 1) -> Knob {
        Knob(name: name, aliases: aliases, help: help,
             set: { s, v in
                 if v == "default" { s[keyPath: path] = nil; return true }
                 guard let x = parseInt(v), x >= min else { return false }
                 s[keyPath: path] = x
                 return true
             },
             get: { $0[keyPath: path].map(String.init) ?? "default" })
    }

    private static func double(_ name: String, _ aliases: [String], _ help: String,
                               _ path: WritableKeyPath<BenchSettings, Double> & Sendable) -> Knob {
        Knob(name: name, aliases: aliases, help: help,
             set: { s, v in guard let x = Double(v), x >= 0, x < 1 else { return false }; s[keyPath: path] = x; return true },
             get: { String($0[keyPath: path]) })
    }
}

/// Integers as people type them: `200000`, `200_000`, `200k`, `2m`, `64KiB`-style suffixes are not accepted.
func parseInt(_ text: String) -> Int? {
    var digits = text.replacingOccurrences(of: "_", with: "").lowercased()
    var scale = 1
    if digits.hasSuffix("k") { scale = 1000; digits.removeLast() } else if digits.hasSuffix("m") { scale = 1_000_000; digits.removeLast() }
    guard let value = Int(digits) else { return nil }
    let (product, overflow) = value.multipliedReportingOverflow(by: scale)
    return overflow ? nil : product
}

extension BenchSettings {
    /// The knobs where `self` differs from `base`, as `name=value` (the label of a configuration in a table).
    func differences(from base: BenchSettings) -> [String] {
        Knob.all.compactMap { knob in
            let mine = knob.get(self)
            return mine == knob.get(base) ? nil : "\(knob.name)=\(mine)"
        }
    }

    /// Every knob as `name=value`: a stable key to match configurations across runs (`--compare`).
    var key: String { Knob.all.map { "\($0.name)=\($0.get(self))" }.joined(separator: " ") }
}
