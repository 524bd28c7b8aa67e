#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Reads a small file (a configuration, a specs document) whole, with `open` and `read`.
///
/// Foundation's `Data(contentsOf:)` cannot read a pipe such as `--config <(make-config)` (`/dev/fd/63`)
/// and then reports a permission problem that is not there; reading with the system calls works for
/// regular files, pipes and FIFOs alike, and the error names the real cause (`strerror`).
enum WholeFileReader {
    /// Reads `path` whole; throws a message naming the problem when it cannot be opened or read, is a
    /// directory, or holds more than `limit` bytes.
    static func contents(of path: String, limit: Int = 64 << 20) throws(WholeFileReadError) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WholeFileReadError(String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            throw WholeFileReadError("it is a directory")
        }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw WholeFileReadError(String(cString: strerror(errno)))
            }
            if count == 0 { return data }
            guard data.count + count <= limit else {
                throw WholeFileReadError("it is larger than \(limit) bytes")
            }
            data.append(contentsOf: chunk[0..<count])
        }
    }
}

/// Why ``WholeFileReader`` could not read a file, in words for a person (`No such file or directory`).
struct WholeFileReadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
