import Testing
@testable import Sluice

@Suite("RESP parser")
struct RESPParserTests {
    private func parseAll(_ text: String, limits: RESPParser.Limits = .init()) throws -> [RESPValue] {
        var parser = RESPParser(limits: limits)
        parser.append(Array(text.utf8))
        var values: [RESPValue] = []
        while let value = try parser.next() { values.append(value) }
        return values
    }

    @Test("RESP2 scalars, nulls and nested arrays parse to their values")
    func resp2Types() throws {
        let values = try parseAll("+OK\r\n-ERR bad\r\n:-42\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n*0\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n")
        #expect(values == [.simpleString("OK"), .error("ERR bad"), .integer(-42), .bulkString(Array("hello".utf8)),
                           .bulkString(nil), .array(nil), .array([]),
                           .array([.array([.integer(1)]), .bulkString([])])])
    }

    @Test("RESP3 types parse, attributes are skipped, and maps read as pairs like RESP2 flat arrays")
    func resp3Types() throws {
        let values = try parseAll("_\r\n#t\r\n,1.5\r\n(123456789012345678901234\r\n=7\r\ntxt:abc\r\n!3\r\nbad\r\n"
            + "%1\r\n+k\r\n:1\r\n~1\r\n:2\r\n|1\r\n+ttl\r\n:9\r\n:7\r\n>1\r\n+msg\r\n")
        #expect(values == [.null, .boolean(true), .double("1.5"), .bigNumber("123456789012345678901234"),
                           .verbatimString(Array("abc".utf8)), .error("bad"),
                           .map([(.simpleString("k"), .integer(1))]), .set([.integer(2)]), .integer(7),
                           .push([.simpleString("msg")])])
        let flat = try parseAll("*2\r\n+k\r\n:1\r\n")[0]
        #expect(flat.pairs?.count == 1 && flat.pairs?[0].0 == .simpleString("k"))
        #expect(values[6].pairs?.count == 1)
    }

    @Test("A reply split at every byte boundary parses to the same value, without re-parsing complete elements")
    func everySplitPoint() throws {
        let text = "*3\r\n$3\r\nabc\r\n*2\r\n:1\r\n$4\r\nwx\r\n\r\n%1\r\n+a\r\n_\r\n"
        let whole = try parseAll(text)
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            var parser = RESPParser()
            parser.append(Array(bytes[..<split]))
            var values: [RESPValue] = []
            while let value = try parser.next() { values.append(value) }
            parser.append(Array(bytes[split...]))
            while let value = try parser.next() { values.append(value) }
            #expect(values == whole, "split at \(split)")
        }
        // One byte at a time.
        var parser = RESPParser()
        var values: [RESPValue] = []
        for byte in bytes {
            parser.append([byte])
            while let value = try parser.next() { values.append(value) }
        }
        #expect(values == whole)
    }

    @Test("Malformed replies are errors that say what is wrong", arguments: [
        ("?what\r\n", "unknown type byte"),
        (":12a\r\n", "non-digit"),
        (":99999999999999999999\r\n", "out of range"),
        ("$3\r\nabcd\r\n", "not followed by CRLF"),
        ("$-5\r\n", "negative string length"),
        ("*-2\r\n", "negative element count"),
        ("+OK\rX", "CR not followed by LF"),
        ("+OK\n", "LF without CR"),
        ("#x\r\n", "boolean"),
        ("=2\r\nab\r\n", "verbatim"),
        ("(12x\r\n", "big number"),
        ("_x\r\n", "null with a payload"),
        (":\r\n", "empty integer"),
    ])
    func malformed(input: String, expected: String) {
        #expect {
            _ = try parseAll(input)
        } throws: { error in
            (error as? RESPProtocolError)?.description.contains(expected) == true
        }
    }

    @Test("Limits bound line length, bulk length, element count, depth and reply size")
    func limits() {
        var limits = RESPParser.Limits()
        limits.maxLineBytes = 8
        limits.maxBulkBytes = 4
        limits.maxElements = 3
        limits.maxDepth = 2
        limits.maxReplyBytes = 30
        let cases: [(String, String)] = [
            ("+123456789", "line longer"),
            ("$5\r\n", "exceeds the 4-byte limit"),
            ("*4\r\n", "element limit"),
            ("*1\r\n*1\r\n*1\r\n:1\r\n", "nesting deeper"),
            ("*3\r\n$4\r\naaaa\r\n$4\r\naaaa\r\n$4\r\naaaa\r\n", "reply longer"),
        ]
        for (input, expected) in cases {
            #expect(throws: RESPProtocolError.self, "\(input.debugDescription)") {
                do { _ = try parseAll(input, limits: limits) } catch {
                    #expect((error as? RESPProtocolError)?.description.contains(expected) == true, "\(error)")
                    throw error
                }
            }
        }
    }

    @Test("A huge claimed element count does not allocate for it: the count is bounded by the bytes that arrive")
    func hugeClaimedCount() throws {
        var parser = RESPParser()
        parser.append(Array("*16000000\r\n:1\r\n".utf8))
        #expect(try parser.next() == nil)
        #expect(parser.isInsideReply)
    }

    @Test("Seeded random bytes and mutated valid replies never crash the parser: each ends in values, an error or a wait")
    func fuzz() {
        var generator = SplitMix64(seed: 0x5EED_4E55)
        let seeds = ["*2\r\n$3\r\nabc\r\n:12\r\n", "%1\r\n+a\r\n*1\r\n_\r\n", "$-1\r\n", "-ERR x\r\n", "=5\r\ntxt:a\r\n",
                     "*1\r\n*2\r\n$1\r\n0\r\n*2\r\n$4\r\nbody\r\n$2\r\n{}\r\n"].map { Array($0.utf8) }
        let alphabet = Array("*$%~>|+-:_#,(=!\r\n0123456789-abc".utf8)
        var outcomes = (values: 0, errors: 0, waits: 0)
        for iteration in 0..<20_000 {
            var bytes: [UInt8]
            if iteration % 2 == 0 {
                bytes = seeds[Int(generator.next() % UInt64(seeds.count))]
                for _ in 0..<(1 + Int(generator.next() % 4)) where !bytes.isEmpty {
                    let index = Int(generator.next() % UInt64(bytes.count))
                    switch generator.next() % 3 {
                    case 0: bytes[index] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                    case 1: bytes.remove(at: index)
                    default: bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: index)
                    }
                }
            } else {
                bytes = (0..<Int(generator.next() % 48)).map { _ in
                    generator.next() % 4 == 0 ? UInt8(truncatingIfNeeded: generator.next()) : alphabet[Int(generator.next() % UInt64(alphabet.count))]
                }
            }
            var limits = RESPParser.Limits()
            limits.maxBulkBytes = 1 << 16
            var parser = RESPParser(limits: limits)
            // Feed in two pieces, so the resume path is fuzzed too.
            let split = bytes.isEmpty ? 0 : Int(generator.next() % UInt64(bytes.count + 1))
            parser.append(Array(bytes[..<split]))
            do {
                var produced = 0
                while try parser.next() != nil { produced += 1 }
                parser.append(Array(bytes[split...]))
                while try parser.next() != nil { produced += 1 }
                if produced > 0 { outcomes.values += 1 } else { outcomes.waits += 1 }
            } catch {
                outcomes.errors += 1
            }
        }
        // The corpus exercises all three outcomes; a parser that always threw or always waited would fail here.
        #expect(outcomes.values > 1000 && outcomes.errors > 1000 && outcomes.waits > 100, "\(outcomes)")
    }
}
