#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Reads a small file (a configuration, a specs document, a spool cursor or manifest) whole, with `open` and
/// `read`.
///
/// Foundation's `Data(contentsOf:)` cannot read a pipe such as `--config <(make-config)` (`/dev/fd/63`)
/// and then reports a permission problem that is not there; reading with the system calls works for
/// regular files, pipes and FIFOs alike, and the error names the real cause (`strerror`).
enum WholeFileReader {
    /// Reads `path` whole; throws a ``WholeFileReadError`` naming the problem when it cannot be opened or read,
    /// is a directory, or holds more than `limit` bytes.
    static func bytes(of path: String, limit: Int = 64 << 20) throws(WholeFileReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw errno == ENOENT ? .missing : .system(String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR { throw .directory }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(String(cString: strerror(errno)))
            }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else { throw .tooLarge(limit: limit) }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// ``bytes(of:limit:)`` as `Data`, for the JSON parsers that take it.
    static func contents(of path: String, limit: Int = 64 << 20) throws(WholeFileReadError) -> Data {
        Data(try bytes(of: path, limit: limit))
    }
}

/// Why ``WholeFileReader`` could not read a file; its description is in words for a person.
enum WholeFileReadError: Error, CustomStringConvertible {
    /// No file at the path (`ENOENT`).
    case missing
    /// The path names a directory.
    case directory
    /// The file holds more than `limit` bytes.
    case tooLarge(limit: Int)
    /// Any other failure of `open` or `read`, as `strerror` says it.
    case system(String)

    var description: String {
        switch self {
        case .missing: String(cString: strerror(ENOENT))
        case .directory: "it is a directory"
        case .tooLarge(let limit): "it is larger than \(limit) bytes"
        case .system(let reason): reason
        }
    }
}
