#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Process-wide CPU time and memory, read from the kernel.
enum ResourceUsage {
    /// User plus system CPU seconds used by every thread of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// The peak resident set size (`VmHWM`) of this process in bytes. It is a high-water mark for the whole
    /// process lifetime, which is why the harness measures each configuration in its own child process.
    static func peakResidentBytes() -> Int? { statusField("VmHWM:") }

    /// The current resident set size (`VmRSS`) in bytes.
    static func residentBytes() -> Int? { statusField("VmRSS:") }

    /// Asks the kernel to restart the peak-RSS mark from the current RSS (`/proc/self/clear_refs`, value 5).
    /// Used by `--in-process`, where configurations share one process; memory the allocator kept from an
    /// earlier configuration still counts, so per-config figures there are upper bounds.
    @discardableResult
    static func resetPeakResident() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    private static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kb = Int(fields[1]) else { return nil }
            return kb * 1024
        }
        return nil
    }
}
