/// One Redis command, encoded as a RESP array of bulk strings (the only request form Redis needs).
struct RedisCommand: Sendable {
    /// The encoded request, ready to write.
    private(set) var encoded: [UInt8]
    /// The command's name, for error messages (arguments may carry passwords or event data: never shown).
    let name: String

    init(_ name: String, _ arguments: [String] = []) {
        self.name = name
        encoded = []
        encoded.reserveCapacity(16 + name.utf8.count + arguments.reduce(0) { $0 + $1.utf8.count + 16 })
        Self.appendHeader(count: 1 + arguments.count, to: &encoded)
        Self.appendBulk(name.utf8, to: &encoded)
        // Through the contiguous UTF-8 (a memcpy), not the generic view: XACK carries thousands of IDs.
        for var argument in arguments { argument.withUTF8 { Self.appendBulk($0, to: &encoded) } }
    }

    /// A command whose arguments are raw bytes (event bodies).
    init(_ name: String, byteArguments: [ArraySlice<UInt8>]) {
        self.name = name
        encoded = []
        encoded.reserveCapacity(16 + name.utf8.count + byteArguments.reduce(0) { $0 + $1.count + 16 })
        Self.appendHeader(count: 1 + byteArguments.count, to: &encoded)
        Self.appendBulk(name.utf8, to: &encoded)
        for argument in byteArguments { Self.appendBulk(argument, to: &encoded) }
    }

    /// A command already encoded by its caller (hot paths that build thousands per round trip).
    init(name: String, encoded: [UInt8]) {
        self.name = name
        self.encoded = encoded
    }

    static func appendHeader(count: Int, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        appendDecimal(count, to: &buffer)
        buffer.append(13)
        buffer.append(10)
    }

    static func appendBulk<C: Collection>(_ bytes: C, to buffer: inout [UInt8]) where C.Element == UInt8 {
        buffer.append(UInt8(ascii: "$"))
        appendDecimal(bytes.count, to: &buffer)
        buffer.append(13)
        buffer.append(10)
        buffer.append(contentsOf: bytes)
        buffer.append(13)
        buffer.append(10)
    }

    static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value < 10 {
            buffer.append(UInt8(48 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            while rest > 0 {
                raw[count] = UInt8(48 + rest % 10)
                rest /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { buffer.append(raw[index]) }
        }
    }
}

/// Many commands encoded back to back into one request (the sink's `XADD`s for a batch): built in place by its
/// caller, so a batch of a thousand events is one buffer, not a thousand commands joined afterwards.
struct RedisPipeline: Sendable {
    /// The commands' encoding, concatenated.
    var encoded: [UInt8] = []
    /// How many commands (each owes one reply).
    var count = 0
}
