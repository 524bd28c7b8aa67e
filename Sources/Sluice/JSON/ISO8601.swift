/// ISO 8601 / RFC 3339 timestamps as integer milliseconds since the Unix epoch, without `DateFormatter`.
///
/// Segment and Heap outputs format one timestamp per event and Segment input parses one per message, so both
/// directions work on bytes with Howard Hinnant's `days_from_civil` / `civil_from_days` integer algorithms
/// (proleptic Gregorian calendar, no time zones, no leap seconds) instead of Foundation's calendar machinery.
enum ISO8601 {
    /// Length of every formatted timestamp: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static let timestampLength = 24

    /// Earliest formattable instant, `0001-01-01T00:00:00.000Z`.
    static let minimumMilliseconds: Int64 = -62_135_596_800_000
    /// Latest formattable instant, `9999-12-31T23:59:59.999Z`.
    static let maximumMilliseconds: Int64 = 253_402_300_799_999

    private static let millisecondsPerDay: Int64 = 86_400_000

    // MARK: - Formatting

    /// Appends e.g. `2026-11-22T07:07:16.691Z` (always UTC, always 3 fraction digits) for `milliseconds` since the
    /// Unix epoch.
    ///
    /// Values outside years 0001...9999 are clamped to ``minimumMilliseconds`` / ``maximumMilliseconds``: every
    /// output is then a well-formed 4-digit-year timestamp that receivers accept, and such values only come from
    /// corrupt input that a relay should not turn into a crash.
    static func appendTimestamp(milliseconds: Int64, to buffer: inout [UInt8]) {
        // A stack scratch area keeps this allocation-free apart from the buffer's own growth.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: timestampLength) { scratch in
            writeTimestamp(milliseconds: milliseconds, to: scratch.baseAddress!)
            buffer.append(contentsOf: UnsafeBufferPointer(scratch))
        }
    }

    /// Writes exactly ``timestampLength`` bytes at `destination`, for encoders that fill raw output buffers.
    /// Clamps like ``appendTimestamp(milliseconds:to:)``.
    static func writeTimestamp(milliseconds: Int64, to destination: UnsafeMutablePointer<UInt8>) {
        let ms = min(max(milliseconds, minimumMilliseconds), maximumMilliseconds)
        // Floor division so that instants before 1970 land on the previous day with a positive time of day.
        var days = ms / millisecondsPerDay
        var msOfDay = ms % millisecondsPerDay
        if msOfDay < 0 {
            msOfDay += millisecondsPerDay
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        let ofDay = Int(msOfDay)
        let millis = ofDay % 1000
        let seconds = ofDay / 1000
        let p = destination
        write4(year, p)
        p[4] = UInt8(ascii: "-")
        write2(month, p + 5)
        p[7] = UInt8(ascii: "-")
        write2(day, p + 8)
        p[10] = UInt8(ascii: "T")
        write2(seconds / 3600, p + 11)
        p[13] = UInt8(ascii: ":")
        write2(seconds / 60 % 60, p + 14)
        p[16] = UInt8(ascii: ":")
        write2(seconds % 60, p + 17)
        p[19] = UInt8(ascii: ".")
        p[20] = 0x30 &+ UInt8(truncatingIfNeeded: millis / 100)
        p[21] = 0x30 &+ UInt8(truncatingIfNeeded: millis / 10 % 10)
        p[22] = 0x30 &+ UInt8(truncatingIfNeeded: millis % 10)
        p[23] = UInt8(ascii: "Z")
    }

    /// The formatted timestamp as a `String`, for call sites that are not byte-oriented (tests, summaries).
    static func string(milliseconds: Int64) -> String {
        String(unsafeUninitializedCapacity: timestampLength) { buffer in
            writeTimestamp(milliseconds: milliseconds, to: buffer.baseAddress!)
            return timestampLength
        }
    }

    @inline(__always)
    private static func write2(_ value: Int, _ p: UnsafeMutablePointer<UInt8>) {
        p[0] = 0x30 &+ UInt8(truncatingIfNeeded: value / 10)
        p[1] = 0x30 &+ UInt8(truncatingIfNeeded: value % 10)
    }

    @inline(__always)
    private static func write4(_ value: Int, _ p: UnsafeMutablePointer<UInt8>) {
        write2(value / 100, p)
        write2(value % 100, p + 2)
    }

    // MARK: - Calendar arithmetic (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms")

    /// Days since 1970-01-01 for a proleptic Gregorian date. Valid for any year representable in `Int64` math here.
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)  // March = 0, so Feb 29 is the era's last day
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `days` after 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // MARK: - Parsing

    /// Parses an RFC 3339 / ISO 8601 date-time into milliseconds since the Unix epoch.
    ///
    /// Accepts `YYYY-MM-DDTHH:MM:SS`, a `T`, `t` or space separator, an optional fraction of 1...9 digits
    /// (truncated to milliseconds, never rounded, so a parsed instant never moves into the next second), and a
    /// `Z`/`z`, `+hh:mm`/`-hh:mm` or `+hhmm`/`-hhmm` offset. The offset is required: a local time without one names
    /// no instant. Years 0000...9999 are accepted (0000 is the proleptic year 1 BC).
    ///
    /// Returns nil for anything else: impossible dates (month 13, April 31, February 29 in a non-leap year),
    /// hour 24, leap second 60 (no source of ours emits them and Unix time cannot represent them), offsets beyond
    /// 23:59, a missing offset, garbage, and trailing bytes (including whitespace).
    static func parseMilliseconds(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let n = bytes.count
        // Shortest valid form: YYYY-MM-DDTHH:MM:SSZ.
        guard n >= 20, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let p = UnsafePointer(base)

        guard let year = digits(p, 4),
              p[4] == UInt8(ascii: "-"),
              let month = digits(p + 5, 2),
              p[7] == UInt8(ascii: "-"),
              let day = digits(p + 8, 2),
              p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: "t") || p[10] == UInt8(ascii: " "),
              let hour = digits(p + 11, 2),
              p[13] == UInt8(ascii: ":"),
              let minute = digits(p + 14, 2),
              p[16] == UInt8(ascii: ":"),
              let second = digits(p + 17, 2)
        else { return nil }

        guard (1...12).contains(month),
              day >= 1, day <= daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second < 60
        else { return nil }

        var i = 19
        var millis: Int64 = 0
        if p[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < n, p[i] &- 0x30 < 10 {
                if i - start < 3 { millis = millis * 10 + Int64(p[i] &- 0x30) }
                i += 1
            }
            let count = i - start
            guard count >= 1, count <= 9 else { return nil }
            for _ in count..<max(count, 3) { millis *= 10 }
        }

        guard i < n else { return nil }
        var offsetMinutes = 0
        switch p[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let negative = p[i] == UInt8(ascii: "-")
            i += 1
            guard n - i >= 4, let offsetHour = digits(p + i, 2) else { return nil }
            i += 2
            if p[i] == UInt8(ascii: ":") { i += 1 }
            guard n - i >= 2, let offsetMinute = digits(p + i, 2) else { return nil }
            i += 2
            guard offsetHour < 24, offsetMinute < 60 else { return nil }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (negative ? -1 : 1)
        default:
            return nil
        }
        guard i == n else { return nil }

        let dayCount = days(year: year, month: month, day: day)
        let secondOfDay = Int64(hour * 3600 + minute * 60 + second - offsetMinutes * 60)
        return (dayCount * 86_400 + secondOfDay) * 1000 + millis
    }

    /// String convenience for ``parseMilliseconds(_:)-(UnsafeRawBufferPointer)``.
    static func parseMilliseconds(_ string: String) -> Int64? {
        if let result = string.utf8.withContiguousStorageIfAvailable({ parseMilliseconds(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(string.utf8).withUnsafeBytes { parseMilliseconds($0) }
    }

    /// Reads `count` ASCII digits as a number, or nil if any byte is not a digit.
    @inline(__always)
    private static func digits(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        var value = 0
        for k in 0..<count {
            let d = p[k] &- 0x30
            guard d < 10 else { return nil }
            value = value * 10 + Int(d)
        }
        return value
    }
}
