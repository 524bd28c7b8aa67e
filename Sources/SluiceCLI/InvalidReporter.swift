import Foundation
import Sluice
import Synchronization

/// Prints invalid input to standard error, rate-limited so a file of garbage cannot flood the terminal:
/// at most `perSecond` reports each second, then a count of what was not shown.
final class InvalidReporter: Sendable {
    private struct State {
        var windowStart = Date()
        var shownInWindow = 0
        var suppressed = 0
    }
    private let state = Mutex(State())
    private let perSecond: Int

    init(perSecond: Int = 10) {
        self.perSecond = perSecond
    }

    func report(_ invalid: InvalidInput) {
        let line: String? = state.withLock { s in
            let now = Date()
            if now.timeIntervalSince(s.windowStart) >= 1 {
                s.windowStart = now
                s.shownInWindow = 0
            }
            guard s.shownInWindow < perSecond else {
                s.suppressed += 1
                return nil
            }
            s.shownInWindow += 1
            return "sluice: invalid input: \(invalid.summary)"
        }
        if let line { StandardError.write(line) }
    }

    /// Reports left unprinted by the rate limit.
    var suppressed: Int { state.withLock { $0.suppressed } }
}
