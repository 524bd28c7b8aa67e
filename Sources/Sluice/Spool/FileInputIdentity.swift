#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which input file a spool is reading, and how far it has been spooled: what lets `--input FILE --spool DIR`
/// continue where the last run stopped.
///
/// A file is the same one when its device and inode match and its first bytes (up to 4 KiB, as many as it had
/// when spooling began) still hash the same; a file that was replaced, rewritten or has shrunk below the
/// spooled offset is a different file and is read from the start (the run says so).
public struct FileInputIdentity: Sendable, Equatable {
    /// The path the file was opened by (informational: identity is device, inode and content).
    public var path: String
    /// `st_dev` and `st_ino` when spooling began.
    public var device: UInt64, inode: UInt64
    /// How many leading bytes were hashed, and their CRC-32C.
    public var prefixLength: Int, prefixHash: UInt32
    /// Bytes of the file spooled so far (each record also carries its own end offset).
    public var offset: UInt64
    /// The sequence number of the first record that came from this file: only records from it on carry offsets
    /// into this file.
    public var firstSequence: UInt64

    static let prefixLimit = 4096

    /// Identifies the open file `fd` (read with `pread`, so the descriptor's position is untouched).
    static func of(fd: Int32, path: String, firstSequence: UInt64) -> FileInputIdentity? {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        let length = min(Self.prefixLimit, Int(info.st_size))
        guard let hash = prefixHash(fd: fd, length: length) else { return nil }
        return FileInputIdentity(path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
                                 prefixLength: length, prefixHash: hash, offset: 0, firstSequence: firstSequence)
    }

    /// Where to continue reading `fd`: the spooled offset when it is the same file, else 0 with the reason.
    func resumeOffset(for fd: Int32) -> (offset: UInt64, restartReason: String?) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return (0, "cannot stat the input file") }
        if UInt64(info.st_dev) != device || UInt64(info.st_ino) != inode {
            return (0, "\(path) is not the file this spool was reading (another inode)")
        }
        if UInt64(info.st_size) < offset {
            return (0, "\(path) shrank to \(info.st_size) bytes, below the \(offset) already spooled")
        }
        guard Self.prefixHash(fd: fd, length: prefixLength) == prefixHash else {
            return (0, "\(path) was rewritten (its first \(prefixLength) bytes changed)")
        }
        return (offset, nil)
    }

    private static func prefixHash(fd: Int32, length: Int) -> UInt32? {
        var bytes = [UInt8](repeating: 0, count: length)
        var read = 0
        while read < length {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + read, length - read, off_t(read)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            read += n
        }
        return CRC32C.checksum(bytes)
    }

    var jsonObject: [String: Any] {
        ["path": path, "device": device, "inode": inode, "prefixLength": prefixLength, "prefixHash": prefixHash,
         "offset": offset, "firstSequence": firstSequence]
    }

    init(path: String, device: UInt64, inode: UInt64, prefixLength: Int, prefixHash: UInt32, offset: UInt64, firstSequence: UInt64) {
        self.path = path
        self.device = device
        self.inode = inode
        self.prefixLength = prefixLength
        self.prefixHash = prefixHash
        self.offset = offset
        self.firstSequence = firstSequence
    }

    init?(jsonObject object: [String: Any]) {
        func number(_ key: String) -> UInt64? {
            if let n = object[key] as? UInt64 { return n }
            if let n = object[key] as? Int, n >= 0 { return UInt64(n) }
            return nil
        }
        guard let path = object["path"] as? String, let device = number("device"), let inode = number("inode"),
              let prefixLength = number("prefixLength"), prefixLength <= UInt64(Self.prefixLimit),
              let hash = number("prefixHash"), hash <= UInt64(UInt32.max),
              let offset = number("offset"), let first = number("firstSequence") else { return nil }
        self.init(path: path, device: device, inode: inode, prefixLength: Int(prefixLength), prefixHash: UInt32(hash),
                  offset: offset, firstSequence: first)
    }
}
