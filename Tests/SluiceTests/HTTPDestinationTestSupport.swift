import Foundation
import Synchronization
@testable import Sluice

/// Shared pieces of the HTTP destination tests: events with known timeUUIDs, a server script that remembers
/// how it answered each request, and readers for what came back.
enum HTTPTestSupport {
    static let statsigKey = "secret-statsig-key-0123456789"
    static let writeKey = "segment-write-key-ABCDEFGH"
    static let heapAppID = "heap-app-id-987654321"
    static let hookToken = "hook-token-QWERTY-55"

    /// A version-1 UUID unique to `index`.
    static func uuid(_ index: Int) -> String {
        String(format: "%08x-0000-11ee-8000-%012x", index + 1, index + 1)
    }

    /// `count` Statsig export-shape events, one per line, each with its own timeUUID, user and stableID.
    static func events(_ count: Int, from first: Int = 0) -> (bytes: [UInt8], uuids: [String]) {
        var text = ""
        var uuids: [String] = []
        for i in first..<(first + count) {
            let id = uuid(i)
            uuids.append(id)
            text += "{\"eventName\":\"purchase_\(i)\",\"user\":{\"userID\":\"u\(i)\",\"customIDs\":{\"stableID\":\"s\(i)\"}},"
                + "\"userID\":\"u\(i)\",\"timestamp\":\(1_700_000_000_000 + i),\"timeUUID\":\"\(id)\","
                + "\"value\":\"v\(i)\",\"metadata\":{\"item\":\"book\"}}\n"
        }
        return (Array(text.utf8), uuids)
    }

    /// Every value of member `key` in `body`: the timeUUID carriers are `timeUUID` in the Statsig formats,
    /// `messageId` for Segment and `idempotency_key` for Heap.
    static func uuids(in body: [UInt8], key: String = "timeUUID") -> [String] {
        let text = String(decoding: body, as: UTF8.self)
        let marker = "\"\(key)\":\""
        var found: [String] = []
        var rest = text[...]
        while let range = rest.range(of: marker) {
            let value = rest[range.upperBound...].prefix(36)
            if value.count == 36 { found.append(String(value)) }
            rest = rest[range.upperBound...]
        }
        return found
    }

    /// An HTTP destination of `kind` with small, fast retry settings.
    static func destination(_ name: String, _ kind: DestinationConfiguration.Kind, maxEvents: Int = 10,
                            maxBytes: Int = 400_000, maxDelayMs: Int = 20, maxAttempts: Int = 5,
                            backoffMs: (Int, Int) = (1, 5), concurrency: Int = 4, timeoutMs: Int = 10_000) -> DestinationConfiguration {
        DestinationConfiguration(
            name: name, kind: kind, batch: BatchConfiguration(maxEvents: maxEvents, maxBytes: maxBytes, maxDelayMs: maxDelayMs),
            retry: RetryConfiguration(maxAttempts: maxAttempts, initialBackoffMs: backoffMs.0, maxBackoffMs: backoffMs.1),
            concurrency: concurrency, timeoutMs: timeoutMs)
    }

    /// `http://127.0.0.1:PORT` of `server`, as a configured endpoint.
    static func endpoint(_ server: TestHTTPServer) -> String {
        "http://127.0.0.1:\(server.port)"
    }

    /// A fresh path in the temporary directory.
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(UUID().uuidString)-\(name)").path
    }

    /// The non-empty lines of a file.
    static func lines(ofFile path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// A JSON line as a dictionary (test-side parsing; Foundation is fine here).
    static func object(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    /// Waits (polling every 10 ms, at most `limit`) until `condition` holds; returns whether it did.
    static func wait(upTo limit: Duration = .seconds(20), until condition: () -> Bool) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}

/// Wraps a script and remembers the status each request was answered with (nil: closed without an answer).
final class AnswerLog: Sendable {
    private let answers = Mutex<[Int: Int]>([:])
    private let base: TestHTTPServer.Script

    init(_ base: @escaping TestHTTPServer.Script) {
        self.base = base
    }

    /// The script to give the server.
    var script: TestHTTPServer.Script {
        { [self] request, index in
            let action = base(request, index)
            answers.withLock { $0[index] = Self.status(of: action) }
            return action
        }
    }

    /// The status request `index` received.
    func status(_ index: Int) -> Int? { answers.withLock { $0[index] } }

    private static func status(of action: TestHTTPServer.Action) -> Int? {
        switch action {
        case .respond(let status, _, _): status
        case .delayed(_, let next): status(of: next)
        case .closeConnection, .resetConnection, .truncated: nil
        }
    }
}
