#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks the files a run will write (`--summary`, `--dead-letter`) before any input is read: a typo in a path
/// must not surface only after a million events, or as a misleading "permission" message. Each problem names the
/// flag, the path and the real cause (`directory /missing/dir does not exist`, `is a directory`,
/// `permission denied`).
///
/// Nothing is created or changed: an existing file is opened for appending (no data written, so an existing
/// summary or dead-letter file stays as it is until the run writes it), a new file's directory is checked.
enum OutputPathCheck {
    /// The first problem with the run's output files, as a full `sluice: --flag: ...` line, or nil.
    static func problem(_ options: RunOptions) -> String? {
        for (flag, path) in [("--summary", options.summaryPath), ("--dead-letter", options.deadLetterPath)] {
            guard let path else { continue }
            if let cause = cause(path) { return "sluice: \(flag): cannot write \(path): \(cause)" }
        }
        return nil
    }

    /// Why `path` cannot be written, or nil when it can (as far as can be known without writing).
    static func cause(_ path: String) -> String? {
        var info = stat()
        if stat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { return "is a directory" }
            // O_NONBLOCK: a FIFO without a reader must not hang the check (its ENXIO is not a problem).
            let fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 {
                close(fd)
                return nil
            }
            return errno == ENXIO ? nil : describe(errno)
        }
        if errno == ENOTDIR {
            // Some component on the way is a file: name the first one that exists.
            var component = parent(of: path)
            while stat(component, &info) != 0, parent(of: component) != component { component = parent(of: component) }
            return "\(component) is not a directory"
        }
        guard errno == ENOENT else { return describe(errno) }
        // The file does not exist yet: its directory must, and must let us create it.
        let directory = parent(of: path)
        if stat(directory, &info) != 0 {
            guard errno == ENOENT else { return "directory \(directory): \(describe(errno))" }
            return "directory \(directory) does not exist"
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "\(directory) is not a directory" }
        if access(directory, W_OK | X_OK) != 0 { return "cannot create files in directory \(directory): \(describe(errno))" }
        return nil
    }

    /// The directory a path's file would be created in (`.` for a bare name).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let head = String(path[..<slash])
        return head.isEmpty ? "/" : head
    }

    /// `strerror` text in lower case, the way the rest of Sluice's messages read (`permission denied`).
    private static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        let message = String(cString: text)
        return message.prefix(1).lowercased() + message.dropFirst()
    }
}
