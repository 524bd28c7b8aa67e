import CZlib

/// Streaming gunzip for input that is too large to hold at once (a gzipped file on standard input): feed it
/// blocks as they are read and get the decompressed bytes back block by block. Concatenated members (what
/// `cat a.gz b.gz` or `gzip` on a pipe in pieces produce) are one stream, as `gzip -d` reads them.
///
/// A class, not a struct: zlib keeps a pointer back to its `z_stream`, which must therefore never move.
final class GzipStream {
    private let stream: UnsafeMutablePointer<z_stream>
    private var active = false
    private var output = [UInt8](repeating: 0, count: 256 * 1024)

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    deinit {
        if active { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates `input`, calling `emit` with each piece of output. Throws on corrupt data.
    func feed(_ input: [UInt8], _ emit: ([UInt8]) -> Void) throws(Gzip.Failure) {
        var failure: Gzip.Failure?
        input.withUnsafeBufferPointer { input in
            var offset = 0
            while offset < input.count {
                if !active {
                    // Padding after the last member is tolerated, as gzip does.
                    if input[offset...].allSatisfy({ $0 == 0 }) { return }
                    guard sluice_inflateInit2(stream, 15 + 16) == Z_OK else { failure = .corrupt("zlib could not start"); return }
                    active = true
                }
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + offset)
                stream.pointee.avail_in = uInt(input.count - offset)
                var memberEnded = false, stalled = false
                repeat {
                    let (status, produced) = output.withUnsafeMutableBufferPointer { out in
                        stream.pointee.next_out = out.baseAddress
                        stream.pointee.avail_out = uInt(out.count)
                        let status = inflate(stream, Z_NO_FLUSH)
                        return (status, out.count - Int(stream.pointee.avail_out))
                    }
                    if produced > 0 { emit(Array(output[0..<produced])) }
                    switch status {
                    case Z_STREAM_END:
                        memberEnded = true
                    case Z_OK:
                        break
                    case Z_BUF_ERROR:
                        stalled = produced == 0  // no progress possible with this input: wait for more
                    default:
                        failure = .corrupt(stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)")
                        return
                    }
                } while !memberEnded && !stalled && (stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0)
                offset = input.count - Int(stream.pointee.avail_in)
                if stalled && !memberEnded { return }
                if memberEnded {
                    inflateEnd(stream)
                    active = false
                }
            }
        }
        if let failure { throw failure }
    }

    /// Throws when the input ended inside a member.
    func finish() throws(Gzip.Failure) {
        if active { throw .corrupt("truncated stream") }
    }
}

/// The byte source's decoding step for gzipped input: collects a block's decompressed pieces into blocks of
/// about the reader's size, so the pipeline sees the same shape of input as from an uncompressed file.
final class GzipInput {
    private let stream = GzipStream()

    func decompress(_ block: [UInt8]) -> Result<[[UInt8]], Gzip.Failure> {
        var pieces: [[UInt8]] = []
        var current: [UInt8] = []
        do {
            try stream.feed(block) { piece in
                current.append(contentsOf: piece)
                if current.count >= ByteSource.blockSize {
                    pieces.append(current)
                    current = []
                }
            }
        } catch {
            return .failure(error)
        }
        if !current.isEmpty { pieces.append(current) }
        return .success(pieces)
    }

    func finish() -> Result<Void, Gzip.Failure> {
        do { try stream.finish() } catch { return .failure(error) }
        return .success(())
    }
}
