import Synchronization

/// What the HTTP listener has done: requests by route and status, their durations, connections and requests in
/// flight. Read by the `/metrics` endpoint; cheap to update from every connection thread.
public final class HTTPServerStats: Sendable {
    /// Upper bounds (seconds) of the request-duration histogram buckets.
    public static let durationBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// One reading of the counters.
    public struct Snapshot: Sendable, Equatable {
        /// Requests answered, by route and status code.
        public var requests: [RouteStatus: Int]
        /// Cumulative counts per ``HTTPServerStats/durationBuckets`` bound (the last entry is +Inf).
        public var durationBucketCounts: [Int]
        /// Sum of all request durations, in seconds.
        public var durationSum: Double
        /// Requests whose handler is running now.
        public var inFlight: Int
        /// Connections open now.
        public var openConnections: Int
        /// Connections accepted since start.
        public var acceptedConnections: Int
    }

    /// A route and a status code: the labels of the request counter.
    public struct RouteStatus: Sendable, Hashable, Comparable {
        /// The route (`log_event`, `rgstr`, `batch`, ..., `healthz`, `metrics`, `other`, `malformed`, `timeout`).
        public var route: String
        /// The status code answered.
        public var status: Int

        /// Orders by route, then status, so the exposition is stable.
        public static func < (a: RouteStatus, b: RouteStatus) -> Bool { (a.route, a.status) < (b.route, b.status) }
    }

    private struct State {
        var requests: [RouteStatus: Int] = [:]
        var buckets = [Int](repeating: 0, count: HTTPServerStats.durationBuckets.count + 1)
        var durationSum = 0.0
    }

    private let state = Mutex(State())
    private let inFlight = Atomic<Int>(0)
    private let open = Atomic<Int>(0)
    private let accepted = Atomic<Int>(0)

    /// Creates empty counters.
    public init() {}

    func record(route: String, status: Int, seconds: Double) {
        state.withLock { s in
            s.requests[RouteStatus(route: route, status: status), default: 0] += 1
            let index = HTTPServerStats.durationBuckets.firstIndex { seconds <= $0 } ?? HTTPServerStats.durationBuckets.count
            s.buckets[index] += 1
            s.durationSum += seconds
        }
    }

    func requestStarted() { inFlight.add(1, ordering: .relaxed) }
    func requestFinished() { inFlight.subtract(1, ordering: .relaxed) }
    func connectionOpened() {
        open.add(1, ordering: .relaxed)
        accepted.add(1, ordering: .relaxed)
    }
    func connectionClosed() { open.subtract(1, ordering: .relaxed) }

    /// The counters now.
    public var snapshot: Snapshot {
        let (requests, buckets, sum) = state.withLock { ($0.requests, $0.buckets, $0.durationSum) }
        var cumulative: [Int] = []
        var running = 0
        for count in buckets {
            running += count
            cumulative.append(running)
        }
        return Snapshot(requests: requests, durationBucketCounts: cumulative, durationSum: sum,
                        inFlight: inFlight.load(ordering: .relaxed), openConnections: open.load(ordering: .relaxed),
                        acceptedConnections: accepted.load(ordering: .relaxed))
    }
}
