#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Sluice
import Synchronization

/// The live one-line progress display on an interactive terminal: rate, totals and each destination's lag,
/// redrawn in place about four times a second and erased when the run ends, so the summary that follows stands
/// alone.
///
/// The line is cut to the terminal's width: a wrapped line could not be redrawn with a carriage return.
final class ProgressDisplay: RunObserver {
    static let refresh = Duration.milliseconds(250)
    /// Snapshots the shown rate spans: one second, steadier than a single quarter-second interval.
    static let rateWindow = 4
    /// Carriage return, then the text, then "erase to end of line" (so a shorter line leaves no leftovers).
    static let eraseToEnd = "\u{1B}[K"

    /// True while a progress line may be on screen: ``StandardError`` then erases it before writing a message,
    /// which would otherwise be glued to the end of the line; the next refresh redraws it below the message.
    static let isShowing = Atomic<Bool>(false)

    private let task: Task<Void, Never>

    init(pipeline: Pipeline, fd: Int32 = 2) {
        Self.isShowing.store(true, ordering: .relaxed)
        task = Task {
            var recent: [MetricsSnapshot] = []
            for await snapshot in pipeline.metrics(every: Self.refresh) {
                recent.append(snapshot)
                if recent.count > Self.rateWindow + 1 { recent.removeFirst() }
                guard snapshot.phase != .finished else { break }
                let rate = recent.count > 1 ? snapshot.eventsPerSecond(since: recent[0]) : snapshot.eventsPerSecond
                Self.write("\r" + Self.line(for: snapshot, rate: rate, width: Self.terminalWidth(fd)) + Self.eraseToEnd, to: fd)
            }
            Self.isShowing.store(false, ordering: .relaxed)
            Self.write("\r" + Self.eraseToEnd, to: fd)
        }
    }

    func stop() async { await task.value }

    /// `sluice: 812.4k ev/s | 1.2M in, 61.0k dup, 24.1k filtered, 3 invalid | stdout 1.1M sent, lag 8.2k | 1.5 s`
    static func line(for m: MetricsSnapshot, rate: Double, width: Int) -> String {
        var parts = ["sluice: \(compact(rate)) ev/s"]
        var totals = "\(compact(m.ingested)) in, \(compact(m.duplicates)) dup, \(compact(m.filtered)) filtered"
        if m.invalid > 0 { totals += ", \(compact(m.invalid)) invalid" }
        parts.append(totals)
        for name in m.destinations.keys.sorted() {
            let d = m.destinations[name]!
            var text = "\(name) \(compact(d.delivered)) sent"
            if d.deadLettered > 0 { text += ", \(compact(d.deadLettered)) dead" }
            if d.dropped > 0 { text += ", \(compact(d.dropped)) dropped" }
            text += ", lag \(compact(d.pending))"
            if d.retries > 0 { text += ", \(compact(d.retries)) retries" }
            parts.append(text)
        }
        if let spool = m.spool {
            var text = "spool \(compact(spool.bytes))B/\(spool.segments) seg"
            if spool.oldestUnsettledAgeSeconds > 0 { text += ", oldest \(formatSeconds(spool.oldestUnsettledAgeSeconds))" }
            parts.append(text)
        }
        var tail = formatSeconds(m.elapsedSeconds)
        if m.phase == .draining { tail += " draining" }
        parts.append(tail)
        let full = parts.joined(separator: " | ")
        let limit = max(1, width - 1)  // the last column would make some terminals wrap
        guard full.count > limit else { return full }
        return String(full.prefix(max(0, limit - 1))) + "…"
    }

    /// 999, 1.2k, 3.4M: a width that stays steady while the numbers grow.
    static func compact(_ value: Int) -> String { compact(Double(value)) }

    static func compact(_ value: Double) -> String {
        let v = max(0, value)
        switch v {
        case ..<1000: return String(Int(v.rounded()))
        case ..<1_000_000: return oneDecimal(v / 1000) + "k"
        case ..<1_000_000_000: return oneDecimal(v / 1_000_000) + "M"
        default: return oneDecimal(v / 1_000_000_000) + "G"
        }
    }

    private static func oneDecimal(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func formatSeconds(_ seconds: Double) -> String {
        seconds < 60 ? oneDecimal(seconds) + " s" : "\(Int(seconds) / 60)m\(Int(seconds) % 60)s"
    }

    /// Columns of the terminal on `fd` (it may be resized during a run), or 80 when it cannot tell.
    static func terminalWidth(_ fd: Int32) -> Int {
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    private static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
}
