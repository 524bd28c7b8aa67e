#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into numbered NDJSON lines, whatever the block boundaries.
///
/// A line longer than `maxLineBytes` is reported (with its number and first bytes) and skipped without ever being
/// buffered whole: once the carried-over partial line passes the limit, the framer discards bytes until the
/// next newline. Blank lines are skipped; they hold no event. A trailing `\r` is removed (CRLF input).
struct LineFramer {
    /// Longest line accepted, excluding the newline.
    let maxLineBytes: Int
    /// Number of the last line started (1-based once the first byte arrives).
    private(set) var lineNumber = 0
    private var carry: [UInt8] = []
    private var discarding = false
    private var discardedPrefix: [UInt8] = []

    /// What `consume` found.
    enum Piece {
        /// A complete line (without newline), valid only during the callback.
        case line(UnsafeRawBufferPointer, number: Int)
        /// A line over the limit; `prefix` is its first bytes, for the report.
        case overlong(number: Int, prefix: [UInt8])
    }

    /// Bytes held for an unfinished line (never more than the limit; for tests and metrics).
    var bufferedBytes: Int { carry.count + discardedPrefix.count }

    /// A framer whose first line is numbered `firstLine` (a spooled record continues its input's numbering).
    init(maxLineBytes: Int, firstLine: Int = 1) {
        self.maxLineBytes = maxLineBytes
        self.lineNumber = firstLine - 1
    }

    /// Frames `block`, calling `body` for every complete line (and every overlong one).
    mutating func consume(_ block: UnsafeRawBufferPointer, _ body: (Piece) throws -> Void) rethrows {
        guard let base = block.baseAddress, block.count > 0 else { return }
        var start = 0
        let n = block.count
        while start < n {
            let found = memchr(base + start, 0x0A, n - start)
            guard let newline = found else {
                keepPartial(UnsafeRawBufferPointer(rebasing: block[start..<n]))
                return
            }
            let end = UnsafeRawPointer(newline) - base
            let segment = UnsafeRawBufferPointer(rebasing: block[start..<end])
            start = end + 1
            lineNumber += 1
            if discarding {
                discarding = false
                try body(.overlong(number: lineNumber, prefix: discardedPrefix))
                discardedPrefix = []
                continue
            }
            if carry.isEmpty {
                try emit(segment, body)
            } else {
                if carry.count + segment.count > maxLineBytes + 1 {
                    let prefix = Array(carry.prefix(256))
                    carry.removeAll(keepingCapacity: true)
                    try body(.overlong(number: lineNumber, prefix: prefix))
                    continue
                }
                carry.append(contentsOf: segment)
                let line = carry
                carry.removeAll(keepingCapacity: true)
                try line.withUnsafeBytes { try emit($0, body) }
            }
        }
    }

    /// Emits the final line when the input did not end with a newline.
    mutating func finish(_ body: (Piece) throws -> Void) rethrows {
        if discarding {
            lineNumber += 1
            discarding = false
            try body(.overlong(number: lineNumber, prefix: discardedPrefix))
            return
        }
        guard !carry.isEmpty else { return }
        lineNumber += 1
        let line = carry
        carry.removeAll()
        try line.withUnsafeBytes { try emit($0, body) }
    }

    private mutating func keepPartial(_ bytes: UnsafeRawBufferPointer) {
        if discarding { return }
        if carry.count + bytes.count > maxLineBytes + 1 {
            discardedPrefix = Array((carry + Array(bytes.prefix(256))).prefix(256))
            carry.removeAll()
            discarding = true
            return
        }
        carry.append(contentsOf: bytes)
    }

    private func emit(_ raw: UnsafeRawBufferPointer, _ body: (Piece) throws -> Void) rethrows {
        var line = raw
        if line.last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if line.count > maxLineBytes {
            try body(.overlong(number: lineNumber, prefix: Array(line.prefix(256))))
            return
        }
        // Skip blank lines: they are not events and not errors.
        var blank = true
        for byte in line where !(byte == 0x20 || byte == 0x09) { blank = false; break }
        if blank { return }
        try body(.line(line, number: lineNumber))
    }
}
