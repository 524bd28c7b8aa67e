import Foundation
import Testing
@testable import Sluice

@Suite("ISO8601")
struct ISO8601Tests {
    @Test("formats known instants, including leap days and instants before 1970", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
        (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
        (946_684_799_999, "1999-12-31T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_795_331_236_691, "2026-11-22T07:07:16.691Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-1_000, "1969-12-31T23:59:59.000Z"),
        (-86_400_000, "1969-12-31T00:00:00.000Z"),
        (-86_400_001, "1969-12-30T23:59:59.999Z"),
        (-2_208_988_800_000, "1900-01-01T00:00:00.000Z"),
        (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func formatsKnownValues(milliseconds: Int64, expected: String) {
        #expect(ISO8601.string(milliseconds: milliseconds) == expected)
        #expect(ISO8601.parseMilliseconds(expected) == milliseconds)
    }

    @Test("clamps instants outside years 0001...9999 to the nearest formattable instant")
    func clampsOutOfRange() {
        #expect(ISO8601.string(milliseconds: .min) == "0001-01-01T00:00:00.000Z")
        #expect(ISO8601.string(milliseconds: ISO8601.minimumMilliseconds - 1) == "0001-01-01T00:00:00.000Z")
        #expect(ISO8601.string(milliseconds: .max) == "9999-12-31T23:59:59.999Z")
        #expect(ISO8601.string(milliseconds: ISO8601.maximumMilliseconds + 1) == "9999-12-31T23:59:59.999Z")
    }

    @Test("appends to the existing buffer contents without disturbing them")
    func appendsAfterExistingBytes() {
        var buffer = Array("ts=".utf8)
        ISO8601.appendTimestamp(milliseconds: 1_795_331_236_691, to: &buffer)
        ISO8601.appendTimestamp(milliseconds: 0, to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "ts=2026-11-22T07:07:16.691Z1970-01-01T00:00:00.000Z")
    }

    @Test("format then parse returns the same milliseconds for 100k seeded random instants in 0001...9999")
    func roundTripsRandomValues() {
        var random = SplitMix64(seed: 0x1508_8601)
        let span = UInt64(ISO8601.maximumMilliseconds - ISO8601.minimumMilliseconds + 1)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(ISO8601.timestampLength)
        var failures = 0
        for _ in 0..<100_000 {
            let ms = ISO8601.minimumMilliseconds + Int64(random.next(upperBound: span))
            buffer.removeAll(keepingCapacity: true)
            ISO8601.appendTimestamp(milliseconds: ms, to: &buffer)
            let parsed = buffer.withUnsafeBytes { ISO8601.parseMilliseconds($0) }
            if parsed != ms || buffer.count != ISO8601.timestampLength { failures += 1 }
        }
        #expect(failures == 0)
    }

    // Two full 400-year Gregorian cycles cover every leap-year pattern; the other ranges cover the epoch and the end.
    @Test("civil date arithmetic round-trips every day of years 0001...0800, 1900...2100 and 9800...9999",
          arguments: [1...800, 1900...2100, 9800...9999])
    func civilDaysRoundTrip(years: ClosedRange<Int>) {
        var expectedDays = ISO8601.days(year: years.lowerBound, month: 1, day: 1)
        var mismatches = 0
        for year in years {
            for month in 1...12 {
                for day in 1...ISO8601.daysInMonth(year: year, month: month) {
                    let days = ISO8601.days(year: year, month: month, day: day)
                    let civil = ISO8601.civil(fromDays: days)
                    if days != expectedDays || civil != (year, month, day) { mismatches += 1 }
                    expectedDays += 1
                }
            }
        }
        #expect(mismatches == 0)
    }

    // Foundation's Gregorian calendar switches to the Julian calendar before 1582-10-15, so agreement is only
    // meaningful after that; the range below stays well inside both implementations' proleptic overlap.
    static let foundationRange: ClosedRange<Int64> = -11_676_096_000_000...253_402_300_799_999  // 1600...9999

    @Test("formatting agrees with Foundation's ISO8601DateFormatter on seeded random instants")
    func formattingAgreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var random = SplitMix64(seed: 42)
        let span = UInt64(Self.foundationRange.upperBound - Self.foundationRange.lowerBound + 1)
        var mismatches: [String] = []
        for _ in 0..<3000 {
            let ms = Self.foundationRange.lowerBound + Int64(random.next(upperBound: span))
            let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
            // A Double cannot hold most millisecond instants exactly; nudging by 0.1 ms keeps the value inside the
            // intended millisecond whether Foundation truncates or rounds the fraction.
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(ms - seconds * 1000) / 1000 + 0.000_1)
            let ours = ISO8601.string(milliseconds: ms)
            let theirs = formatter.string(from: date)
            if ours != theirs { mismatches.append("\(ms): \(ours) vs \(theirs)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("parsing agrees with Foundation's ISO8601DateFormatter on seeded random timestamps with offsets")
    func parsingAgreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var random = SplitMix64(seed: 7)
        let span = UInt64(Self.foundationRange.upperBound - Self.foundationRange.lowerBound + 1)
        var mismatches: [String] = []
        for _ in 0..<3000 {
            let ms = Self.foundationRange.lowerBound + 86_400_000 + Int64(random.next(upperBound: span - 2 * 86_400_000))
            var text = ISO8601.string(milliseconds: ms)
            // Rewrite the UTC text as the same instant in a random whole-quarter-hour offset.
            let offsetMinutes = Int(random.next(upperBound: 97)) * 15 - 720
            if offsetMinutes != 0 {
                let local = ISO8601.string(milliseconds: ms + Int64(offsetMinutes) * 60_000)
                let sign = offsetMinutes < 0 ? "-" : "+"
                let hh = abs(offsetMinutes) / 60, mm = abs(offsetMinutes) % 60
                let hours: String = hh < 10 ? "0\(hh)" : "\(hh)"
                let minutes: String = mm < 10 ? "0\(mm)" : "\(mm)"
                text = String(local.dropLast()) + sign + hours + ":" + minutes
            }
            guard let date = formatter.date(from: text) else {
                mismatches.append("Foundation rejected \(text)")
                continue
            }
            let theirs = Int64((date.timeIntervalSince1970 * 1000).rounded())
            let ours = ISO8601.parseMilliseconds(text)
            if ours != ms || theirs != ms { mismatches.append("\(text): ours \(String(describing: ours)) Foundation \(theirs) expected \(ms)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("parses offsets, separators and fractions of every accepted form", arguments: [
        ("2026-11-22T07:07:16.691Z", Int64(1_795_331_236_691)),
        ("2026-11-22t07:07:16.691z", 1_795_331_236_691),
        ("2026-11-22 07:07:16.691Z", 1_795_331_236_691),
        ("2026-11-22T07:07:16Z", 1_795_331_236_000),
        ("2026-11-22T07:07:16.6Z", 1_795_331_236_600),
        ("2026-11-22T07:07:16.69Z", 1_795_331_236_690),
        ("2026-11-22T07:07:16.691999999Z", 1_795_331_236_691),
        ("2026-11-22T09:07:16.691+02:00", 1_795_331_236_691),
        ("2026-11-22T09:07:16.691+0200", 1_795_331_236_691),
        ("2026-11-22T01:37:16.691-05:30", 1_795_331_236_691),
        ("2026-11-21T23:07:16.691-0800", 1_795_331_236_691),
        ("2026-11-22T07:07:16.691+00:00", 1_795_331_236_691),
        ("2026-11-22T07:07:16.691-00:00", 1_795_331_236_691),
        ("1970-01-01T00:59:59.999+01:00", -1),
        ("2024-02-29T12:00:00Z", 1_709_208_000_000),
        ("2000-02-29T00:00:00Z", 951_782_400_000),
    ])
    func parsesAcceptedForms(text: String, expected: Int64) {
        #expect(ISO8601.parseMilliseconds(text) == expected)
    }

    @Test("rejects invalid dates, times, offsets, garbage and trailing bytes", arguments: [
        "",
        "garbage",
        "2026-13-01T00:00:00Z",  // month 13
        "2026-00-10T00:00:00Z",  // month 0
        "2026-04-31T00:00:00Z",  // day 31 in April
        "2026-01-00T00:00:00Z",  // day 0
        "2026-01-32T00:00:00Z",
        "2023-02-29T00:00:00Z",  // not a leap year
        "1900-02-29T00:00:00Z",  // century, not a leap year
        "2026-11-22T24:00:00Z",  // hour 24
        "2026-11-22T07:60:00Z",
        "2026-11-22T07:07:60Z",  // leap second
        "2026-11-22T07:07:16",  // no offset
        "2026-11-22T07:07:16.Z",  // empty fraction
        "2026-11-22T07:07:16.1234567890Z",  // ten fraction digits
        "2026-11-22T07:07:16.691Zx",  // trailing byte
        "2026-11-22T07:07:16.691Z ",  // trailing space
        " 2026-11-22T07:07:16.691Z",  // leading space
        "2026-11-22T07:07:16.691+02",  // hour-only offset
        "2026-11-22T07:07:16.691+02:0",
        "2026-11-22T07:07:16.691+2:00",
        "2026-11-22T07:07:16.691+24:00",  // offset hour out of range
        "2026-11-22T07:07:16.691+02:60",
        "2026-11-22T07:07:16.691+02:00:00",
        "2026-11-22X07:07:16Z",  // wrong separator
        "2026/11/22T07:07:16Z",
        "26-11-22T07:07:16.691Z",
        "2026-1-22T07:07:16.691Z",
        "2026-11-22T7:07:16.691Z",
        "+2026-11-22T07:07:16Z",
        "2026-11-22T07:07:1aZ",
        "2026-11-22T07:07:16,691Z",
        "１９７０-01-01T00:00:00Z",  // non-ASCII digits
    ])
    func rejectsInvalid(text: String) {
        #expect(ISO8601.parseMilliseconds(text) == nil)
    }

    @Test("parses from a byte buffer that is a slice of a larger line")
    func parsesFromRawSlice() {
        let line = Array(#"{"timestamp":"2026-11-22T07:07:16.691Z"}"#.utf8)
        let parsed = line.withUnsafeBytes { raw in
            ISO8601.parseMilliseconds(UnsafeRawBufferPointer(rebasing: raw[14..<38]))
        }
        #expect(parsed == 1_795_331_236_691)
    }
}
