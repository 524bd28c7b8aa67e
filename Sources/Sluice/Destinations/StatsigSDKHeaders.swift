import Foundation

/// The headers Statsig's SDKs put on every request to Statsig (checked in the Go, Python, Java/Kotlin, .NET,
/// C++ and iOS SDKs): `STATSIG-SDK-TYPE`, `STATSIG-SDK-VERSION` (the same values as the body's
/// `statsigMetadata`), and `STATSIG-CLIENT-TIME`, the sender's clock in milliseconds, which Statsig uses to
/// correct event times for clock skew.
enum StatsigSDKHeaders {
    /// The SDK type Sluice reports (also `statsigMetadata.sdkType` in `log_event` bodies).
    static let sdkType = "sluice"

    /// Type and version: the same on every request.
    static let fixed: [(name: String, value: String)] = [
        ("STATSIG-SDK-TYPE", sdkType), ("STATSIG-SDK-VERSION", SluiceVersion.string),
    ]

    /// The name of the clock header.
    static let clientTime = "STATSIG-CLIENT-TIME"

    /// The clock header's value now.
    static func clientTimeValue(now: Date = Date()) -> String {
        String(Int64((now.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

/// Stamps `STATSIG-CLIENT-TIME` on each attempt as it leaves, not once per batch: Statsig shifts event times by
/// the difference between this header and its own clock, so a value built before a long retry wait would
/// move every event in the batch by the length of the wait.
struct StatsigClientTimeTransport: HTTPTransport {
    let base: any HTTPTransport

    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        var stamped = request
        stamped.headers.removeAll { $0.name.caseInsensitiveCompare(StatsigSDKHeaders.clientTime) == .orderedSame }
        stamped.headers.append((StatsigSDKHeaders.clientTime, StatsigSDKHeaders.clientTimeValue()))
        return try await base.send(stamped, timeout: timeout)
    }
}
