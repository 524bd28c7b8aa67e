import Foundation
import Testing
@testable import Sluice

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test("status classification: 2xx delivered; 408, 429 and 5xx but 501/505 retried; other codes final",
          arguments: [
              (200, RetryPolicy.Verdict.delivered), (202, .delivered), (204, .delivered),
              (408, .retry), (429, .retry), (500, .retry), (502, .retry), (503, .retry), (504, .retry),
              (501, .final), (505, .final), (400, .final), (401, .final), (403, .final), (404, .final),
              (413, .final), (422, .final), (301, .final), (100, .final), (600, .final),
          ])
    func classification(status: Int, expected: RetryPolicy.Verdict) {
        #expect(RetryPolicy.verdict(forStatus: status) == expected)
    }

    @Test("jittered backoff stays within [initial, min(max, initial × 2ⁿ)] over many seeded draws and spreads out")
    func jitterBounds() {
        let policy = RetryPolicy(maxAttempts: 10, initialBackoff: .milliseconds(100), maxBackoff: .seconds(2),
                                 jitter: .seeded(12345))
        for retry in 1...8 {
            let ceiling = min(Duration.seconds(2), .milliseconds(100) * (1 << retry))
            var smallest = Duration.seconds(1_000), largest = Duration.zero
            for _ in 0..<2_000 {
                let delay = policy.backoff(beforeRetry: retry)
                smallest = min(smallest, delay)
                largest = max(largest, delay)
            }
            #expect(smallest >= .milliseconds(100), "retry \(retry)")
            #expect(largest <= ceiling, "retry \(retry)")
            // Uniform over the window: 2,000 draws come close to both ends.
            let window = ceiling - .milliseconds(100)
            #expect(smallest - .milliseconds(100) < window / 20, "retry \(retry)")
            #expect(ceiling - largest < window / 20, "retry \(retry)")
        }
    }

    @Test("the same seed gives the same delays; a different seed gives different ones")
    func seededJitterIsReproducible() {
        func draws(_ seed: UInt64) -> [Duration] {
            let policy = RetryPolicy(initialBackoff: .milliseconds(10), maxBackoff: .seconds(10), jitter: .seeded(seed))
            return (1...20).map { policy.backoff(beforeRetry: $0) }
        }
        #expect(draws(1) == draws(1))
        #expect(draws(1) != draws(2))
    }

    @Test("huge retry numbers and a maxBackoff below initialBackoff cannot overflow or go below the initial wait")
    func backoffEdgeCases() {
        let policy = RetryPolicy(initialBackoff: .seconds(1), maxBackoff: .seconds(30), jitter: .seeded(3))
        #expect((Duration.seconds(1)...Duration.seconds(30)).contains(policy.backoff(beforeRetry: 1_000)))
        let inverted = RetryPolicy(initialBackoff: .seconds(2), maxBackoff: .seconds(1), jitter: .seeded(3))
        #expect(inverted.backoff(beforeRetry: 5) == .seconds(2))
    }

    @Test("jitter draws are uniform and unbiased for small bounds")
    func jitterSourceIsUniform() {
        let source = JitterSource.seeded(99)
        var counts = [Int](repeating: 0, count: 3)
        for _ in 0..<30_000 { counts[Int(source.next(upTo: 2))] += 1 }
        #expect(counts.allSatisfy { (9_000...11_000).contains($0) }, "\(counts)")
    }

    @Test("Retry-After as delta-seconds")
    func retryAfterSeconds() {
        #expect(RetryPolicy.parseRetryAfter("120") == .seconds(120))
        #expect(RetryPolicy.parseRetryAfter(" 0 ") == .zero)
        #expect(RetryPolicy.parseRetryAfter("99999999999999999999") == .seconds(Int64(Int32.max)))
    }

    @Test("Retry-After as an HTTP-date in all three RFC 9110 forms")
    func retryAfterDate() {
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 seconds after 1970.
        let now = Date(timeIntervalSince1970: 784_111_777 - 90)
        #expect(RetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(90))
        #expect(RetryPolicy.parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .seconds(90))
        #expect(RetryPolicy.parseRetryAfter("Sun Nov  6 08:49:37 1994", now: now) == .seconds(90))
        #expect(RetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT",
                                            now: Date(timeIntervalSince1970: 784_111_777 + 5)) == .zero)
        // A leap day and a date after 2038, to exercise the calendar arithmetic.
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 12:00:00 GMT") == 1_709_208_000)
        #expect(HTTPDate.parse("Mon, 01 Jan 2024 GMT") == nil)
        #expect(HTTPDate.parse("Fri, 01 Jan 2100 00:00:00 GMT") == 4_102_444_800)
    }

    @Test("Retry-After garbage is ignored", arguments: [
        "", "soon", "-5", "1.5", "12abc", "Sun, 06 Nov 1994 25:00:00 GMT", "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT", "06 Nov 1994 08:49:37",
    ])
    func retryAfterGarbage(value: String) {
        #expect(RetryPolicy.parseRetryAfter(value) == nil)
    }

    @Test("Retry-After lengthens the wait on 429 and 503 only, capped at maxRetryAfter")
    func retryAfterAppliesTo429And503() {
        let policy = RetryPolicy(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(5),
                                 maxRetryAfter: .seconds(60), jitter: .seeded(1))
        let headers = ["Retry-After": "7"]
        #expect(policy.delay(beforeRetry: 1, after: HTTPResponse(status: 429, headers: headers)) == .seconds(7))
        #expect(policy.delay(beforeRetry: 1, after: HTTPResponse(status: 503, headers: headers)) == .seconds(7))
        #expect(policy.delay(beforeRetry: 1, after: HTTPResponse(status: 500, headers: headers)) <= .milliseconds(5))
        #expect(policy.delay(beforeRetry: 1, after: HTTPResponse(status: 429, headers: ["retry-after": "86400"])) == .seconds(60))
        #expect(policy.delay(beforeRetry: 1, after: HTTPResponse(status: 429, headers: ["Retry-After": "nonsense"])) <= .milliseconds(5))
        #expect(policy.delay(beforeRetry: 1, after: nil) <= .milliseconds(5))
    }

    @Test("the default cap on Retry-After is a minute, the default of retry.maxRetryAfterSeconds")
    func defaultRetryAfterCap() {
        let policy = RetryPolicy(jitter: .seeded(1))
        #expect(policy.maxRetryAfter == .seconds(60))
        #expect(policy.maxRetryAfter == .seconds(RetryConfiguration().maxRetryAfterSeconds))
        #expect(policy.delay(beforeRetry: 1, after: HTTPResponse(status: 503, headers: ["Retry-After": "100000"])) == .seconds(60))
    }

    @Test("a cap of zero ignores Retry-After: the computed backoff applies")
    func zeroCapIgnoresRetryAfter() {
        let policy = RetryPolicy(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(5), maxRetryAfter: .zero,
                                 jitter: .seeded(1))
        #expect(policy.delay(beforeRetry: 1, after: HTTPResponse(status: 429, headers: ["Retry-After": "99999"])) <= .milliseconds(5))
    }
}
