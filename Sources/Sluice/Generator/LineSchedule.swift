/// Identity of one distinct generated event: everything else about it is derived from these and the seed, so a
/// duplicate is produced by writing the same identity again instead of keeping old lines around.
struct GeneratedEvent: Equatable {
    /// Position among the distinct events; seeds the event's own random draws.
    var index: UInt64
    var milliseconds: Int64
    /// 100-ns ticks within the millisecond, so events sharing a millisecond still get distinct timeUUIDs.
    var tick: UInt16
}

/// Decides, line by line, whether the next line is a new event, a duplicate, or broken, and keeps the clock.
///
/// Kinds are drawn without replacement from the exact remaining counts (selection sampling), so totals are exact
/// while positions are random.
struct LineSchedule {
    enum Line: Equatable {
        case distinct(GeneratedEvent)
        case duplicate(GeneratedEvent)
        case invalid(lineNumber: Int, milliseconds: Int64)
    }

    /// How many recent distinct events a duplicate may copy.
    static let duplicateWindow = 500
    private static let historyCapacity = 512  // a power of two >= duplicateWindow, for masking

    private var random: SplitMix64
    private var remainingDistinct: Int
    private var remainingDuplicates: Int
    private var remainingInvalid: Int
    private var lineNumber = 0
    private var nextIndex: UInt64 = 0
    private var milliseconds: Int64
    private var tick: UInt16 = 0
    private var history: [GeneratedEvent]
    private var historyCount = 0

    init(options: EventGenerator.Options) {
        let events = max(0, options.events)
        remainingDuplicates = options.duplicateCount
        remainingDistinct = events - remainingDuplicates
        remainingInvalid = options.invalidCount
        milliseconds = options.startMilliseconds
        random = SplitMix64(seed: SplitMix64.mix(options.seed ^ 0x5C4E_D011_E000_0001))
        history = Array(repeating: GeneratedEvent(index: 0, milliseconds: 0, tick: 0), count: Self.historyCapacity)
    }

    mutating func next() -> Line? {
        let remaining = remainingDistinct + remainingDuplicates + remainingInvalid
        guard remaining > 0 else { return nil }
        defer { lineNumber += 1 }
        let draw = random.nextInt(remaining)
        if draw < remainingInvalid {
            remainingInvalid -= 1
            return .invalid(lineNumber: lineNumber, milliseconds: milliseconds)
        }
        // A duplicate needs an original; before the first distinct event, emit that first (counts stay exact).
        if draw < remainingInvalid + remainingDuplicates, historyCount > 0 {
            remainingDuplicates -= 1
            let back = random.nextInt(min(historyCount, Self.duplicateWindow))
            return .duplicate(history[(historyCount - 1 - back) & (Self.historyCapacity - 1)])
        }
        remainingDistinct -= 1
        if nextIndex > 0 { advanceClock() }
        let event = GeneratedEvent(index: nextIndex, milliseconds: milliseconds, tick: tick)
        nextIndex += 1
        history[historyCount & (Self.historyCapacity - 1)] = event
        historyCount += 1
        return .distinct(event)
    }

    /// 0...5 ms per event; a repeated millisecond takes the next 100-ns tick, and the clock moves on rather than
    /// reuse a tick, so no two distinct events ever share (milliseconds, tick) and hence a timeUUID time.
    private mutating func advanceClock() {
        let step = random.next(upperBound: 6)
        if step == 0, tick < 9_999 {
            tick += 1
        } else {
            milliseconds += Int64(max(step, 1))
            tick = 0
        }
    }
}
