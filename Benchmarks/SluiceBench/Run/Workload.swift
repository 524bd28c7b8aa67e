#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Sluice

/// Input files for the configurations of a run: one generated file per distinct workload, written before any
/// timing starts and removed at the end, so every configuration (and every child process) reads the same bytes
/// from the page cache.
final class WorkloadStore {
    let directory: String
    private var files: [String: (path: String, counts: InputCounts)] = [:]
    /// A user-supplied NDJSON file used for every configuration instead of generated input.
    private let fixedInput: (path: String, counts: InputCounts)?

    /// Creates a private temporary directory; `inputFile` replaces the generator.
    init(inputFile: String? = nil) throws {
        var template = Array((NSTemporaryDirectory() + "/sluice-bench-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchRunError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: made)
        if let inputFile {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: inputFile),
                  let size = attributes[.size] as? Int else { throw BenchRunError("cannot read --input \(inputFile)") }
            let lines = try Self.countLines(inputFile)
            fixedInput = (inputFile, InputCounts(lines: lines, events: lines, duplicates: 0, invalid: 0, internal: 0,
                                                 bytes: size, generated: false))
        } else {
            fixedInput = nil
        }
    }

    /// The input for `settings`, generating it on first use.
    func input(for settings: BenchSettings) throws -> (path: String, counts: InputCounts) {
        if let fixedInput { return fixedInput }
        if let existing = files[settings.workloadKey] { return existing }
        let path = "\(directory)/\(settings.workloadKey).ndjson"
        let counts = try Self.generate(settings.generatorOptions, to: path)
        files[settings.workloadKey] = (path, counts)
        return (path, counts)
    }

    /// Writes generated NDJSON to `path`.
    static func generate(_ options: EventGenerator.Options, to path: String) throws -> InputCounts {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BenchRunError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let counts = try EventGenerator(options: options).write { block in
            var offset = 0
            while offset < block.count {
                let n = write(fd, block.baseAddress! + offset, block.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw BenchRunError("write \(path): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        // Flushed before any timed run: otherwise the file's writeback (hundreds of MB) lands on the first
        // configurations, and a spooled run's fsyncs (ext4 journal commits) wait behind it.
        _ = fsync(fd)
        return InputCounts(lines: counts.lines, events: counts.events, duplicates: counts.duplicates,
                           invalid: counts.invalid, internal: counts.internal, bytes: counts.bytes, generated: true)
    }

    /// Removes the generated files and the directory.
    func removeAll() {
        try? FileManager.default.removeItem(atPath: directory)
        files = [:]
    }

    private static func countLines(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchRunError("cannot open \(path)") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var lines = 0
        var last: UInt8 = 10
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            for i in 0..<n where buffer[i] == 10 { lines += 1 }
            last = buffer[n - 1]
        }
        return last == 10 ? lines : lines + 1
    }
}
