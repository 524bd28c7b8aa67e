/// Decoding a large block's lines in two halves at once.
///
/// Decoding (JSON validation, the field walk, the copy into the chunk's arena) is about half of the engine's
/// CPU time per event, and it ran on one task: on two cores the ingest task was the wall-clock limit while the
/// other stages left the second core partly idle (measured with `perf`: ingest 51% of all samples). So a block
/// of at least ``splitDecodeBytes`` is framed first (cheap: `memchr`), and its lines are decoded in two halves
/// at the same time: the second half in a child task, the first on the ingest task. The halves' chunks and
/// invalid lines are then put back in input order, so what the later stages see is the same events, in the
/// same order, with the same line numbers; only the chunk boundaries differ (each half ends its own chunk).
extension Ingestor {
    /// Blocks smaller than this (a trickle from a pipe or a terminal) are decoded as they are framed.
    static let splitDecodeBytes = 256 << 10

    /// One framed piece of a block, by position, so that the block's lines can be handed to another task.
    enum FramedPiece: Sendable {
        /// A line that lies wholly in the block.
        case inBlock(offset: Int, count: Int, number: Int)
        /// A line that began in an earlier block (the framer joined it), with its bytes.
        case carried([UInt8], number: Int)
        /// A line over the limit, with its first bytes.
        case overlong(number: Int, prefix: [UInt8])

        /// The piece `piece` the framer produced while consuming `block`.
        static func of(_ piece: LineFramer.Piece, in block: UnsafeRawBufferPointer) -> FramedPiece {
            switch piece {
            case .line(let line, let number):
                if let start = line.baseAddress, let base = block.baseAddress, start >= base,
                   start + line.count <= base + block.count {
                    return .inBlock(offset: start - base, count: line.count, number: number)
                }
                return .carried(Array(line), number: number)
            case .overlong(let number, let prefix):
                return .overlong(number: number, prefix: prefix)
            }
        }
    }

    /// What decoding some pieces produced: full chunks, the last partial chunk, and the invalid lines, in order.
    struct DecodedPieces: Sendable {
        var full: [EventChunk] = []
        var partial: EventChunk
        var invalid: [InvalidInput] = []
        var decoder: InputDecoder
    }

    /// Decodes `pieces` of `block` into chunks of `chunkSize`, continuing `chunk`; the body of both halves.
    nonisolated static func decode(_ pieces: ArraySlice<FramedPiece>, of block: UnsafeRawBufferPointer,
                                   continuing chunk: EventChunk, decoder: InputDecoder, chunkSize: Int,
                                   maxLineBytes: Int) -> DecodedPieces {
        var result = DecodedPieces(partial: chunk, decoder: decoder)
        for piece in pieces {
            switch piece {
            case .inBlock(let offset, let count, let number):
                if result.partial.events.isEmpty { result.partial.createdAt = Clock.nanoseconds() }
                result.decoder.decode(UnsafeRawBufferPointer(rebasing: block[offset..<offset + count]), line: number,
                                      into: &result.partial, invalid: &result.invalid)
            case .carried(let line, let number):
                if result.partial.events.isEmpty { result.partial.createdAt = Clock.nanoseconds() }
                line.withUnsafeBytes { _ = result.decoder.decode($0, line: number, into: &result.partial, invalid: &result.invalid) }
            case .overlong(let number, let prefix):
                result.invalid.append(.overlongLine(number, prefix: prefix, maxLineBytes: maxLineBytes))
            }
            if result.partial.events.count >= chunkSize {
                result.full.append(result.partial)
                result.partial = EventChunk(reservingEvents: chunkSize, bytes: chunkSize * 512)
            }
        }
        return result
    }

    /// Frames `block` and decodes its lines in two concurrent halves. Appends the full chunks, in input order,
    /// to `pending` and the invalid lines to `invalid`; `chunk` continues with the second half's partial chunk.
    func decodeSplit(_ block: [UInt8], framer: inout LineFramer, decoder: inout InputDecoder,
                     spare: inout InputDecoder, chunk: inout EventChunk, pending: inout [EventChunk],
                     invalid: inout [InvalidInput]) async {
        var pieces: [FramedPiece] = []
        pieces.reserveCapacity(block.count / 256)
        block.withUnsafeBytes { raw in framer.consume(raw) { pieces.append(FramedPiece.of($0, in: raw)) } }
        let middle = pieces.count / 2
        let secondHalf = pieces[middle...]
        let chunkSize = self.chunkSize, maxLineBytes = self.maxLineBytes, spareDecoder = spare
        async let second = block.withUnsafeBytes { raw in
            Self.decode(secondHalf, of: raw, continuing: EventChunk(reservingEvents: chunkSize, bytes: chunkSize * 512),
                        decoder: spareDecoder, chunkSize: chunkSize, maxLineBytes: maxLineBytes)
        }
        let first = block.withUnsafeBytes { raw in
            Self.decode(pieces[..<middle], of: raw, continuing: chunk, decoder: decoder, chunkSize: chunkSize,
                        maxLineBytes: maxLineBytes)
        }
        let later = await second
        pending.append(contentsOf: first.full)
        if !first.partial.events.isEmpty { pending.append(first.partial) }
        pending.append(contentsOf: later.full)
        invalid.append(contentsOf: first.invalid)
        invalid.append(contentsOf: later.invalid)
        chunk = later.partial
        decoder = first.decoder
        spare = later.decoder
    }
}
