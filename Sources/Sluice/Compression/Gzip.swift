import CZlib

/// gzip (RFC 1952) with the system zlib: request bodies Sluice sends compressed, and bodies it receives
/// compressed (`Content-Encoding: gzip`, Statsig's `gz=1`, or gzip magic bytes on stdin and in `ingest`).
public enum Gzip {
    /// Why a body could not be decompressed.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The decompressed size would pass the limit (a size limit or a compression bomb).
        case tooLarge(limit: Int)
        /// The stream is not gzip, is corrupt, or ends before its trailer.
        case corrupt(String)

        /// The reason, for a person.
        public var description: String {
            switch self {
            case .tooLarge(let limit): "decompressed body is larger than \(limit) bytes"
            case .corrupt(let why): "invalid gzip data: \(why)"
            }
        }
    }

    /// True when `bytes` start with the gzip magic number (1f 8b).
    @inlinable
    public static func hasMagic<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        var i = bytes.makeIterator()
        return i.next() == 0x1F && i.next() == 0x8B
    }

    /// Compresses `bytes` into one gzip member.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer rather than a zlib one.
        guard sluice_deflateInit2(&stream, level, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK else {
            preconditionFailure("zlib deflateInit2 failed: out of memory")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        let produced: Int = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let status = deflate(&stream, Z_FINISH)
                // deflateBound guarantees the whole output fits, so one Z_FINISH call ends the stream.
                precondition(status == Z_STREAM_END, "zlib deflate did not finish within deflateBound")
                return out.count - Int(stream.avail_out)
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Decompresses a gzip stream (several concatenated members are one stream, as `gzip -d` reads them),
    /// refusing to produce more than `limit` bytes.
    public static func decompress(_ bytes: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        if let whole = singleMember(bytes, limit: limit) { return whole }
        var result: [UInt8] = []
        var failure: Failure?
        bytes.withUnsafeBufferPointer { input in
            var remaining = UnsafeBufferPointer(rebasing: input[...])
            repeat {
                switch inflateMember(remaining, limit: limit, into: &result) {
                case .success(let consumed):
                    remaining = UnsafeBufferPointer(rebasing: remaining[consumed...])
                case .failure(let why):
                    failure = why
                    return
                }
                // Trailing zero padding after the last member is tolerated, as gzip does.
            } while !remaining.isEmpty && remaining.contains(where: { $0 != 0 })
        }
        if let failure { throw failure }
        return result
    }

    /// The common case (one member, as SDKs send) in one allocation and without copying: the trailer's ISIZE
    /// (the member's size mod 2^32) sizes the output and zlib inflates straight into it. Anything else (several
    /// members, padding, an ISIZE that does not match, corrupt data, over `limit`) returns nil, and the general
    /// path decides (and names the failure). One spare byte shows an ISIZE that is too small.
    private static func singleMember(_ bytes: [UInt8], limit: Int) -> [UInt8]? {
        let n = bytes.count
        guard n >= 18 else { return nil }
        let size = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
        guard size > 0, size <= limit else { return nil }
        var complete = false
        let output = [UInt8](unsafeUninitializedCapacity: size + 1) { out, count in
            count = 0
            var stream = z_stream()
            guard sluice_inflateInit2(&stream, 15 + 16) == Z_OK else { return }
            defer { inflateEnd(&stream) }
            bytes.withUnsafeBufferPointer { input in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let status = inflate(&stream, Z_FINISH)
                let produced = out.count - Int(stream.avail_out)
                if status == Z_STREAM_END && stream.avail_in == 0 && produced == size {
                    complete = true
                    count = produced
                }
            }
        }
        return complete ? output : nil
    }

    /// Inflates one member onto `result` (whose total may not pass `limit`); returns the bytes it consumed.
    private static func inflateMember(_ input: UnsafeBufferPointer<UInt8>, limit: Int,
                                      into result: inout [UInt8]) -> Result<Int, Failure> {
        var stream = z_stream()
        guard sluice_inflateInit2(&stream, 15 + 16) == Z_OK else { return .failure(.corrupt("zlib could not start")) }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.avail_in = uInt(input.count)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let (status, produced) = buffer.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let status = inflate(&stream, Z_NO_FLUSH)
                return (status, out.count - Int(stream.avail_out))
            }
            if result.count + produced > limit { return .failure(.tooLarge(limit: limit)) }
            result.append(contentsOf: buffer[0..<produced])
            switch status {
            case Z_STREAM_END:
                return .success(input.count - Int(stream.avail_in))
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                return .failure(.corrupt("truncated stream"))
            case Z_BUF_ERROR:
                continue
            case Z_DATA_ERROR:
                let message = stream.msg.map { String(cString: $0) } ?? "corrupt data"
                return .failure(.corrupt(message))
            default:
                return .failure(.corrupt("zlib status \(status)"))
            }
        }
    }
}
