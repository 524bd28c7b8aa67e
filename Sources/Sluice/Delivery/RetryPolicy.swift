import Foundation
import Synchronization

/// When to retry a batch request and how long to wait first.
///
/// Backoff is exponential with jitter, bounded on both sides: before retry `n` (n = 1 for the first retry) the
/// wait is uniformly random in `[initialBackoff, min(maxBackoff, initialBackoff × 2ⁿ)]`. So every wait lies
/// between `initialBackoffMs` and `maxBackoffMs` of the configuration, the window doubles per retry, and
/// randomness spreads the retries of many workers hitting the same outage. (Plain "full jitter" draws from
/// zero; the lower bound keeps a configured minimum pause meaningful.)
///
/// A `Retry-After` header (delta-seconds or HTTP-date, RFC 9110 §10.2.3) on a 429 or 503 lengthens the wait to
/// at least what the server asked for, capped at ``maxRetryAfter`` so a hostile or broken header cannot stall
/// delivery for hours. It may exceed ``maxBackoff``: the server's word beats our guess.
public struct RetryPolicy: Sendable {
    /// Total attempts including the first; 1 means never retry.
    public var maxAttempts: Int
    /// The shortest wait before a retry.
    public var initialBackoff: Duration
    /// The longest computed wait before a retry (a `Retry-After` may ask for more, up to ``maxRetryAfter``).
    public var maxBackoff: Duration
    /// The most a `Retry-After` header can make us wait (a longer one waits this long). Default: 60 s, the
    /// configuration's `retry.maxRetryAfterSeconds`.
    public var maxRetryAfter: Duration
    /// Where the jitter comes from; inject ``JitterSource/seeded(_:)`` for reproducible tests.
    public var jitter: JitterSource

    /// Creates a policy. Defaults follow the Segment and Statsig SDKs' habits: a few attempts, 100 ms growing
    /// to 10 s.
    public init(maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(10),
                maxRetryAfter: Duration = .seconds(60), jitter: JitterSource = .system) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.jitter = jitter
    }

    /// What a status code means for a batch.
    public enum Verdict: Sendable, Equatable {
        /// 2xx: the batch was accepted.
        case delivered
        /// Worth sending again: the failure is probably temporary.
        case retry
        /// Sending the same bytes again would fail the same way (bad request, auth, too large, ...).
        case final
    }

    /// Classifies a status: 2xx delivered; 408, 429 and 5xx except 501 and 505 retried; everything else final.
    ///
    /// 501 (Not Implemented) and 505 (HTTP Version Not Supported) describe the request itself, so repeating it
    /// cannot help; 1xx and 3xx reaching this point mean the exchange did not complete as a delivery.
    public static func verdict(forStatus status: Int) -> Verdict {
        switch status {
        case 200...299: .delivered
        case 408, 429: .retry
        case 501, 505: .final
        case 500...599: .retry
        default: .final
        }
    }

    /// Whether another attempt is allowed after `attemptsMade` attempts.
    public func allowsRetry(afterAttempts attemptsMade: Int) -> Bool {
        attemptsMade < maxAttempts
    }

    /// The jittered wait before retry number `retry` (1-based), ignoring any `Retry-After`.
    public func backoff(beforeRetry retry: Int) -> Duration {
        let low = Self.nanoseconds(initialBackoff)
        let high = max(low, Self.nanoseconds(maxBackoff))
        // initial × 2^retry, saturating: past 62 doublings every sane value already exceeds maxBackoff.
        let exponent = min(max(retry, 1), 62)
        let grown = low.multipliedReportingOverflow(by: Int64(1) << Int64(exponent))
        let ceiling = grown.overflow ? high : min(high, grown.partialValue)
        if ceiling <= low { return .nanoseconds(low) }
        let span = UInt64(ceiling - low)
        return .nanoseconds(low + Int64(jitter.next(upTo: span)))
    }

    /// The wait before retry number `retry` after `response`: the jittered backoff, lengthened to the response's
    /// `Retry-After` (when it is a 429 or 503 and the header parses), which is capped at ``maxRetryAfter``.
    public func delay(beforeRetry retry: Int, after response: HTTPResponse?, now: Date = Date()) -> Duration {
        let computed = backoff(beforeRetry: retry)
        guard let response, response.status == 429 || response.status == 503,
              let header = response.headers["retry-after"],
              let asked = Self.parseRetryAfter(header, now: now) else { return computed }
        return max(computed, min(asked, maxRetryAfter))
    }

    /// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP-date in any of RFC 9110's three forms
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT`, `Sun Nov  6 08:49:37 1994`).
    /// - Returns: how long from `now` the server asked us to wait (zero for a date in the past), or nil when
    ///   the value is neither form.
    public static func parseRetryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            // Saturate absurd values instead of overflowing; the cap applies later anyway.
            guard trimmed.utf8.count <= 12, let seconds = Int64(trimmed) else { return .seconds(Int64(Int32.max)) }
            return .seconds(seconds)
        }
        guard let date = HTTPDate.parse(trimmed) else { return nil }
        let seconds = date - now.timeIntervalSince1970
        if seconds <= 0 { return .zero }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let scaled = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if scaled.overflow { return seconds < 0 ? 0 : Int64.max / 2 }
        return max(0, scaled.partialValue + attoseconds / 1_000_000_000)
    }
}

/// A source of random numbers for backoff jitter: the system generator in production, a seeded one in tests.
public struct JitterSource: Sendable {
    private let nextValue: @Sendable () -> UInt64

    /// Wraps any generator of uniformly distributed 64-bit values.
    public init(_ next: @escaping @Sendable () -> UInt64) {
        self.nextValue = next
    }

    /// The system's cryptographically seeded generator.
    public static var system: JitterSource {
        JitterSource { UInt64.random(in: .min ... .max) }
    }

    /// A reproducible SplitMix64 sequence, safe to share between tasks.
    public static func seeded(_ seed: UInt64) -> JitterSource {
        let state = SharedSplitMix64(seed: seed)
        return JitterSource { state.next() }
    }

    /// A uniformly distributed value in `0...bound`.
    public func next(upTo bound: UInt64) -> UInt64 {
        if bound == .max { return nextValue() }
        let range = bound + 1
        // Lemire's multiply-shift with rejection, so small bounds carry no modulo bias.
        while true {
            let product = nextValue().multipliedFullWidth(by: range)
            if product.low >= range || product.low >= (0 &- range) % range { return product.high }
        }
    }
}

/// ``SplitMix64`` behind a lock, so one seeded jitter sequence can be shared between tasks.
final class SharedSplitMix64: Sendable {
    private let state: Mutex<SplitMix64>

    init(seed: UInt64) {
        state = Mutex(SplitMix64(seed: seed))
    }

    func next() -> UInt64 {
        state.withLock { $0.next() }
    }
}

/// The three HTTP-date forms of RFC 9110 §5.6.7, parsed by hand: DateFormatter is locale-sensitive and slow to
/// build, and this runs on every 429.
enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Seconds since 1970 for an IMF-fixdate, RFC 850 or asctime date; nil for anything else.
    static func parse(_ text: String) -> Double? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" || $0 == "\t" }).map(String.init)
        guard let weekday = tokens.first, weekday.count >= 3, weekday.allSatisfy(\.isLetter) else { return nil }
        let day: Int?, month: Int?, year: Int?, time: String
        switch tokens.count {
        case 6 where tokens[5].uppercased() == "GMT":
            // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
            day = Int(tokens[1]); month = monthNumber(tokens[2]); time = tokens[4]
            year = Int(tokens[3]).map { tokens[3].count == 2 ? ($0 >= 70 ? 1900 + $0 : 2000 + $0) : $0 }
        case 5:
            // asctime "Sun Nov  6 08:49:37 1994".
            month = monthNumber(tokens[1]); day = Int(tokens[2]); time = tokens[3]; year = Int(tokens[4])
        default:
            return nil
        }
        let clock = time.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard let day, let month, let year, (1...31).contains(day), (1...9999).contains(year),
              clock.count == 3, let hour = clock[0], let minute = clock[1], let second = clock[2],
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    private static func monthNumber(_ token: String) -> Int? {
        months.firstIndex(of: token.lowercased()).map { $0 + 1 }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
