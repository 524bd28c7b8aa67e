import Testing
@testable import Sluice

/// The source's fast path for `XREADGROUP` replies (``RESPParser/nextStreamRead(field:)``) against the general
/// parser followed by ``StreamEntry/fromReadGroup(_:field:)``: same entries, or it steps aside.
@Suite("RESP parser: stream-read fast path")
struct StreamReadParserTests {
    /// A RESP2 `XREADGROUP` reply for stream `s` with the given entries: `fields` nil is a deleted entry.
    static func reply(_ entries: [(id: String, fields: [(String, String)]?)]) -> [UInt8] {
        var text = "*1\r\n*2\r\n$1\r\ns\r\n*\(entries.count)\r\n"
        for (id, fields) in entries {
            text += "*2\r\n$\(id.utf8.count)\r\n\(id)\r\n"
            guard let fields else {
                text += "*-1\r\n"
                continue
            }
            text += "*\(fields.count * 2)\r\n"
            for (name, value) in fields { text += "$\(name.utf8.count)\r\n\(name)\r\n$\(value.utf8.count)\r\n\(value)\r\n" }
        }
        return Array(text.utf8)
    }

    static let sample = reply([
        ("1-0", [("body", #"{"eventName":"a"}"#)]),
        ("1-1", [("other", "x"), ("body", "line one\nline two"), ("body", "second copy loses")]),
        ("2-0", [("other", "no body here")]),
        ("3-0", nil),
        ("4-0", [("body", "")]),
    ])

    /// What the general path makes of the same bytes.
    static func general(_ bytes: [UInt8], field: String = "body") throws -> [StreamEntry] {
        var parser = RESPParser()
        parser.append(bytes)
        return try StreamEntry.fromReadGroup(try #require(try parser.next()), field: field)
    }

    @Test("A one-stream reply becomes the same entries as the general parser gives, bodies read from one buffer")
    func sameEntriesAsTheGeneralPath() throws {
        var parser = RESPParser()
        parser.append(Self.sample)
        guard case .entries(let batch) = parser.nextStreamRead(field: Array("body".utf8)) else {
            Issue.record("the fast path stepped aside")
            return
        }
        #expect(batch.entries == (try Self.general(Self.sample)))
        #expect(batch.ids == ["1-0", "1-1", "2-0", "3-0", "4-0"])
        #expect(batch.bodies[2] == .missingField && batch.bodies[3] == .deleted && batch.bodies[4] == .bytes(batch.storage.count - 2..<batch.storage.count - 2))
        #expect(batch.entries[1].body == Array("line one\nline two".utf8))
        #expect(parser.bufferedByteCount == 0)
        // Converting the general path's entries gives an equal batch body by body.
        #expect(StreamEntryBatch(try Self.general(Self.sample)).entries == batch.entries)
    }

    @Test("Split at every byte, the reply waits (needMore) until complete, then yields the same entries; what follows stays buffered")
    func everySplitPoint() throws {
        let expected = try Self.general(Self.sample)
        let trailing = Array("+OK\r\n".utf8)
        let bytes = Self.sample + trailing
        for split in 0..<Self.sample.count {
            var parser = RESPParser()
            parser.append(Array(bytes[..<split]))
            guard case .needMore = parser.nextStreamRead(field: Array("body".utf8)) else {
                Issue.record("split at \(split): not waiting")
                continue
            }
            // More bytes in small pieces: the scan resumes where it stopped.
            var rest = Array(bytes[split...])
            var result: StreamReadParse = .needMore
            while case .needMore = result, !rest.isEmpty {
                let piece = Array(rest.prefix(7))
                rest.removeFirst(piece.count)
                parser.append(piece)
                result = parser.nextStreamRead(field: Array("body".utf8))
            }
            guard case .entries(let batch) = result else {
                Issue.record("split at \(split): \(result)")
                continue
            }
            #expect(batch.entries == expected, "split at \(split)")
            parser.append(rest)
            #expect(try parser.next() == .simpleString("OK"))
        }
    }

    @Test("Other replies step aside unconsumed and the general parser reads them: errors, the null of a timed-out BLOCK, RESP3, two streams",
          arguments: ["-NOGROUP No such key 's' or consumer group 'g'\r\n", "*-1\r\n", "%1\r\n$1\r\ns\r\n*0\r\n",
                      "*2\r\n*2\r\n$1\r\na\r\n*0\r\n*2\r\n$1\r\nb\r\n*0\r\n", "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$4\r\nbody\r\n:1\r\n"])
    func otherRepliesStepAside(_ text: String) throws {
        var parser = RESPParser()
        parser.append(Array(text.utf8))
        guard case .other = parser.nextStreamRead(field: Array("body".utf8)) else {
            Issue.record("fast path took \(text.debugDescription)")
            return
        }
        var general = RESPParser()
        general.append(Array(text.utf8))
        #expect(try parser.next() == (try general.next()))
        #expect(parser.bufferedByteCount == 0)
    }

    @Test("A reply beyond a limit steps aside, and the general parser reports the violation")
    func limitsReachTheGeneralParser() {
        var limits = RESPParser.Limits()
        limits.maxBulkBytes = 8
        var parser = RESPParser(limits: limits)
        parser.append(Self.sample)
        guard case .other = parser.nextStreamRead(field: Array("body".utf8)) else {
            Issue.record("fast path ignored the bulk limit")
            return
        }
        #expect(throws: RESPProtocolError.self) { try parser.next() }

        limits = RESPParser.Limits()
        limits.maxReplyBytes = 64
        parser = RESPParser(limits: limits)
        parser.append(Self.sample)
        guard case .other = parser.nextStreamRead(field: Array("body".utf8)) else {
            Issue.record("fast path ignored the reply-size limit")
            return
        }
        #expect(throws: RESPProtocolError.self) { try parser.next() }
    }

    @Test("Seeded mutations of valid replies: the fast path never crashes, and whatever entries it yields equal the general path's")
    func differentialFuzz() throws {
        var generator = SplitMix64(seed: 0xF457_2EAD)
        let alphabet = Array("*$%+-:\r\n0123456789-body".utf8)
        var agreed = 0
        var steppedAside = 0
        for _ in 0..<5_000 {
            var bytes = Self.sample
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let index = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[index] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: index)
                default: bytes.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: index)
                }
            }
            var parser = RESPParser()
            parser.append(bytes)
            switch parser.nextStreamRead(field: Array("body".utf8)) {
            case .entries(let batch):
                // The general parser on the same bytes must read one reply with exactly these entries.
                var general = RESPParser()
                general.append(bytes)
                let value = try #require(try general.next())
                #expect(batch.entries == (try StreamEntry.fromReadGroup(value, field: "body")), "\(bytes)")
                #expect(general.bufferedByteCount == parser.bufferedByteCount)
                agreed += 1
            case .other:
                steppedAside += 1
                _ = try? parser.next()  // whatever it is, the general parser must cope (value, error or wait)
            case .needMore:
                steppedAside += 1
            }
        }
        #expect(agreed > 100 && steppedAside > 1000, "agreed \(agreed), stepped aside \(steppedAside)")
    }
}
