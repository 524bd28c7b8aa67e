#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The spool's directory: created 0700 (it holds personal data), locked with `flock` for the life of the
/// process, and the one place that knows how to replace a small file atomically.
///
/// The lock is advisory and held on an open descriptor of `DIR/lock`: the kernel drops it when the process
/// dies, so a SIGKILLed run never leaves a stale lock behind, and a second process on the same spool is told
/// at once instead of interleaving its records with the first one's.
final class SpoolDirectory: Sendable {
    let path: String
    /// Whether renames and new files are made durable with an fsync of the file and the directory. Off only
    /// with `sync: none`, where nothing is fsynced.
    let durable: Bool
    private let lockDescriptor: Atomic<Int32>
    private let directoryDescriptor: Int32

    init(path: String, durable: Bool) throws {
        self.path = path
        self.durable = durable
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw SpoolError("spool: cannot create directory \(path): \(Self.describeErrno())")
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw SpoolError("spool: cannot read \(path): \(Self.describeErrno())") }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw SpoolError("spool: \(path) is not a directory") }
        // An existing directory another tool created with wider permissions is narrowed: spooled events are
        // personal data, so a directory that cannot be narrowed (owned by someone else) is refused.
        if info.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 {
            throw SpoolError("spool: cannot restrict \(path) to mode 0700: \(Self.describeErrno())")
        }
        let directory = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw SpoolError("spool: cannot open directory \(path): \(Self.describeErrno())") }
        let lock = open(path + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else {
            close(directory)
            throw SpoolError("spool: cannot create \(path)/lock: \(Self.describeErrno())")
        }
        if flock(lock, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            close(lock)
            close(directory)
            if reason == EWOULDBLOCK {
                throw SpoolError("spool: \(path) is in use by another sluice process (its lock file \(path)/lock is held); "
                                 + "run one process per spool directory", isLocked: true)
            }
            throw SpoolError("spool: cannot lock \(path)/lock: \(String(cString: strerror(reason)))")
        }
        // Record who holds the lock, for a person looking at the directory (the flock, not this text, is the lock).
        let holder = Array("\(getpid())\n".utf8)
        _ = ftruncate(lock, 0)
        _ = holder.withUnsafeBytes { pwrite(lock, $0.baseAddress, $0.count, 0) }
        lockDescriptor = Atomic(lock)
        directoryDescriptor = directory
    }

    deinit {
        unlock()
        close(directoryDescriptor)
    }

    /// Releases the lock (closing its descriptor drops the flock); later calls do nothing.
    func unlock() {
        let fd = lockDescriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { close(fd) }
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// The names of the directory's entries.
    func entries() throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw SpoolError("spool: cannot list \(path): \(error.localizedDescription)")
        }
    }

    /// Makes renames, creations and deletions in the directory durable.
    func syncDirectory() {
        guard durable else { return }
        _ = fsync(directoryDescriptor)
    }

    /// Replaces `name` with `bytes` so that a crash at any moment leaves either the old or the new content:
    /// write a temporary file, fsync it, rename it over the old one, fsync the directory.
    ///
    /// With `durable: false` the fsyncs are skipped: the replacement is still atomic for a crash of the process
    /// (rename is), but a power loss may keep the old content.
    ///
    /// On a full disk (no space for the temporary file) the replacement goes through `name.spare` instead, a
    /// file reserved beforehand (``reserveSpare(for:)``): see ``writeThroughSpare(_:_:)``.
    func writeAtomically(_ name: String, _ bytes: [UInt8], durable: Bool = true) throws {
        let durable = durable && self.durable
        let temporary = file(name + ".tmp")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno
            if Self.isOutOfSpace(reason), writeThroughSpare(name, bytes) { return }
            throw SpoolError("spool: cannot write \(temporary): \(String(cString: strerror(reason)))")
        }
        var failure: Int32?
        if !Self.writeAll(fd, bytes) {
            failure = errno
        } else if durable && fsync(fd) != 0 {
            failure = errno
        }
        close(fd)
        if let failure {
            unlink(temporary)
            if Self.isOutOfSpace(failure), writeThroughSpare(name, bytes) { return }
            throw SpoolError("spool: cannot write \(temporary): \(String(cString: strerror(failure)))")
        }
        guard rename(temporary, file(name)) == 0 else {
            let reason = Self.describeErrno()
            unlink(temporary)
            throw SpoolError("spool: cannot rename \(temporary) to \(name): \(reason)")
        }
        if durable { syncDirectory() }
    }

    /// The suffix of the reserved spare of a small file (never read as a cursor or manifest).
    static let spareSuffix = ".spare"
    /// A spare holds one file-system block: what a cursor or the manifest needs (they are a few hundred bytes).
    static let spareBytes = 4096

    /// Reserves `name.spare` (4 KiB) unless it exists: the room ``writeAtomically(_:_:durable:)`` falls back to
    /// when the disk is full. Without it, a full disk would stop cursor writes, so no segment could be deleted
    /// (that needs a cursor past it on the disk), so the disk would stay full: a spool wedged until restart.
    func reserveSpare(for name: String) {
        let path = file(name + Self.spareSuffix)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }  // it exists (or cannot be made now: the fallback then has none)
        let reserved = Self.writeAll(fd, [UInt8](repeating: 0x20, count: Self.spareBytes))
        close(fd)
        if !reserved { unlink(path) }
    }

    /// Replaces `name` with `bytes` by overwriting its reserved spare in place (its blocks are already
    /// allocated, so this needs no free space), fsyncing it, and swapping it with `name` in one atomic
    /// `renameat2(RENAME_EXCHANGE)`: the old file becomes the next spare, its block kept. Where the exchange is
    /// not available the spare is renamed over `name` (atomic too; the spare is then used up until
    /// ``reserveSpare(for:)`` runs again). Returns false when there is no usable spare.
    func writeThroughSpare(_ name: String, _ bytes: [UInt8]) -> Bool {
        let spare = file(name + Self.spareSuffix)
        let fd = open(spare, O_WRONLY | O_CLOEXEC)  // no O_CREAT: a new file needs the space the disk lacks
        guard fd >= 0 else { return false }
        let written = bytes.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = pwrite(fd, raw.baseAddress! + offset, raw.count - offset, off_t(offset))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
        // The content is fsynced before it takes the name: an in-place overwrite is not ordered before the
        // exchange on the disk, and a power loss must not leave a cursor mixing old and new bytes.
        let complete = written && ftruncate(fd, off_t(bytes.count)) == 0 && (!durable || fsync(fd) == 0)
        close(fd)
        guard complete else {
            // The spare may hold part of `bytes` now; it is still only the spare (nothing reads it), and the next
            // fallback overwrites it again.
            return false
        }
        if let exchange = Self.renameExchange,
           exchange(directoryDescriptor, name + Self.spareSuffix, directoryDescriptor, name, Self.renameExchangeFlag) == 0 {
            if durable { syncDirectory() }
            return true
        }
        guard rename(spare, file(name)) == 0 else { return false }
        if durable { syncDirectory() }
        return true
    }

    /// ENOSPC, EDQUOT or EFBIG: a write that the reserved spare can stand in for.
    static func isOutOfSpace(_ code: Int32) -> Bool { code == ENOSPC || code == EDQUOT || code == EFBIG }

    /// `renameat2(2)`, looked up at run time (the Glibc module does not declare it); nil where libc lacks it.
    private static var renameExchange: RenameAt2? {
        guard let symbol = dlsym(nil, "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
    }
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32
    /// `RENAME_EXCHANGE` from `<linux/fs.h>`.
    private static let renameExchangeFlag: UInt32 = 1 << 1

    /// The whole content of a small file, or nil when it does not exist.
    func read(_ name: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        do {
            return try WholeFileReader.bytes(of: file(name), limit: limit)
        } catch .missing {
            return nil
        } catch .tooLarge {
            throw SpoolError("spool: \(file(name)) is larger than \(limit) bytes: not a file Sluice wrote")
        } catch .directory {
            throw SpoolError("spool: cannot read \(file(name)): \(String(cString: strerror(EISDIR)))")
        } catch {
            throw SpoolError("spool: cannot read \(file(name)): \(error)")
        }
    }

    func remove(_ name: String) {
        unlink(file(name))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    static func describeErrno() -> String { String(cString: strerror(errno)) }
}
