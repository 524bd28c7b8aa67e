#if canImport(Glibc)
import Glibc
#endif

/// glibc allocator settings for the two ways the CLI uses memory.
///
/// `mallopt` is in `<malloc.h>`, which the Glibc module does not export, so it is looked up by name. The
/// option numbers are the same in every glibc: M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3. Elsewhere (musl,
/// Darwin) these are no-ops.
enum MallocTuning {
    /// `sluice serve`: request bodies are megabytes each, allocated and freed by hundreds of connection threads.
    /// glibc serves a freed large block's successors from its heaps (its mmap threshold rises to 32 MiB after
    /// the first free), where the memory stays after the request is answered: 200 clients sending 4 MB bodies
    /// held 1.4 GB. A fixed 1 MiB threshold maps every such buffer alone and gives it back when freed
    /// (measured: 560 MB; no throughput change for 100-event bodies, whose buffers are smaller).
    static func returnLargeBuffersToTheSystem() {
        mallopt(-3, 1 << 20)
    }

    /// A stream run (`sluice < file`, `--input FILE`): the same few buffer sizes (1 MiB read blocks, chunk
    /// arenas of ~256 KB, batch bodies) are allocated and freed thousands of times a second by two threads.
    /// With glibc's defaults each free of such a block at the top of a heap is given back to the system
    /// (trimmed, or `MADV_DONTNEED` in a thread's arena) and the next allocation faults every page in again:
    /// 6% of a 1M-event run's CPU was page faults on freshly zeroed pages. Keeping freed memory in the heap
    /// (trim only beyond 64 MiB free, map only blocks of 32 MiB and more) reuses the same pages instead; the
    /// run's peak RSS grows by ~10 MB (measured at 1M events: 96-106 MB -> 109-113 MB).
    static func keepBuffersForReuse() {
        mallopt(-3, 32 << 20)
        mallopt(-1, 64 << 20)
    }

    private static func mallopt(_ option: Int32, _ value: Int32) {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(option, value)
        #endif
    }
}
