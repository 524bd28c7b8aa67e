#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered writes to standard error, one whole line per call.
enum StandardError {
    static func write(_ line: String) {
        var text = line
        if !text.hasSuffix("\n") { text += "\n" }
        if ProgressDisplay.isShowing.load(ordering: .relaxed) { text = "\r" + ProgressDisplay.eraseToEnd + text }
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
}
