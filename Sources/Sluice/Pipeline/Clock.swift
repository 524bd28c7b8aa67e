import Dispatch

/// Monotonic nanoseconds for latency and delay measurements (never wall-clock, which can jump).
enum Clock {
    @inline(__always) static func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
