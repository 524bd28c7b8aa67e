import Foundation
import Sluice
import Synchronization

/// Prints ``PipelineNotice``s on standard error as they happen. Write failures always print (even with
/// `--quiet`: they are errors, and each is posted once); new dead-letter reasons print unless quiet, at most
/// `perSecond` a second, the rest counted and mentioned at the end.
final class NoticeReporter: Sendable {
    private struct State {
        var windowStart = Date()
        var shownInWindow = 0
        var suppressed = 0
    }
    private let state = Mutex(State())
    private let quiet: Bool
    private let perSecond: Int

    init(quiet: Bool, perSecond: Int = 10) {
        self.quiet = quiet
        self.perSecond = perSecond
    }

    func report(_ notice: PipelineNotice) {
        if notice.isWriteFailure {
            StandardError.write("sluice: \(notice)")
            return
        }
        guard !quiet else { return }
        let show = state.withLock { s -> Bool in
            let now = Date()
            if now.timeIntervalSince(s.windowStart) >= 1 {
                s.windowStart = now
                s.shownInWindow = 0
            }
            guard s.shownInWindow < perSecond else {
                s.suppressed += 1
                return false
            }
            s.shownInWindow += 1
            return true
        }
        if show { StandardError.write("sluice: \(notice)") }
    }

    /// Reason notices left unprinted by the rate limit.
    var suppressed: Int { state.withLock { $0.suppressed } }
}
