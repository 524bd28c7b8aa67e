import Foundation

/// What became of one batch request delivered with retries.
public enum DeliveryOutcome: Sendable, Equatable {
    /// A 2xx arrived after `attempts` sends.
    case delivered(attempts: Int, status: Int)
    /// Not delivered: a final 4xx, attempts exhausted, or abandoned (drain deadline passed / task cancelled).
    /// `reason` is a person-readable sentence including the status and the first ~200 bytes of the response body
    /// when there was one, e.g. `HTTP 400 (not retried): {"error":"bad"}`; it never contains request header
    /// values. `status` is the last status received, nil when no response ever arrived.
    case failed(reason: String, status: Int?, attempts: Int)

    /// True for ``delivered(attempts:status:)``.
    public var isDelivered: Bool {
        if case .delivered = self { return true }
        return false
    }
}

/// Sends one request with the retry policy: the piece every HTTP destination (Segment, Heap, Statsig, ID lists,
/// webhook) shares, so they all retry, back off, honour `Retry-After` and give up the same way.
///
/// It never throws: every way a delivery can end is a ``DeliveryOutcome``, which the caller turns into
/// delivered or dead-lettered events. Concurrency is the caller's business (it runs `concurrency` workers).
public struct HTTPDelivery: Sendable {
    /// The reason given when `abandon` stopped the delivery.
    public static let abandonedReason = "abandoned: drain deadline passed"
    /// The reason given when the calling task was cancelled.
    public static let cancelledReason = "abandoned: task cancelled"

    /// Sends each attempt.
    public let transport: any HTTPTransport
    /// Decides retries and waits.
    public let policy: RetryPolicy
    /// The limit for one attempt, from sending to the last byte of the response.
    public let timeout: Duration
    /// How often `abandon` is polled while waiting; short enough that a drain deadline is met promptly.
    let pollInterval: Duration

    /// Creates a delivery over `transport`.
    public init(transport: any HTTPTransport, policy: RetryPolicy, timeout: Duration) {
        self.init(transport: transport, policy: policy, timeout: timeout, pollInterval: .milliseconds(50))
    }

    init(transport: any HTTPTransport, policy: RetryPolicy, timeout: Duration, pollInterval: Duration) {
        self.transport = transport
        self.policy = policy
        self.timeout = timeout
        self.pollInterval = pollInterval
    }

    /// Sends with retries. `abandon` is polled before each attempt, while an attempt is in flight and during
    /// backoff waits (every ``pollInterval``): when it returns true, the delivery stops (an attempt in flight is
    /// cancelled) and returns `.failed(reason: "abandoned: drain deadline passed ...", ...)`. Task cancellation
    /// ends the same way, with a reason starting "abandoned: task cancelled".
    ///
    /// Every reason names what happened first, then the attempts, then the last status seen (see
    /// ``FailureReason``), e.g. `HTTP 503 Service Unavailable after 5 attempts: {"error":"down"}`.
    public func deliver(_ request: HTTPRequest, abandon: @escaping @Sendable () -> Bool) async -> DeliveryOutcome {
        let maxAttempts = max(1, policy.maxAttempts)
        let redactor = SecretRedactor(request: request)
        var attempts = 0
        var lastStatus: Int?
        /// What the latest attempt ended with, for the reason when the delivery stops.
        var last: (headline: String, detail: String)?
        /// The latest status line seen, named when a later attempt failed without a response.
        var lastStatusLine: String?

        func stopped(_ stop: String, attemptsMade: Int) -> DeliveryOutcome {
            var reason = stop
            if attemptsMade > 0 {
                reason += " after \(FailureReason.attempts(attemptsMade))"
                if let last {
                    reason += " (last: \(last.headline)\(last.detail.isEmpty ? "" : ": " + last.detail))"
                }
            }
            return .failed(reason: reason, status: lastStatus, attempts: attemptsMade)
        }

        while true {
            if let stop = stopReason(abandon) { return stopped(stop, attemptsMade: attempts) }
            attempts += 1
            let lastResponse: HTTPResponse?
            switch await attempt(request, abandon: abandon) {
            case .stopped(let stop):
                return stopped(stop, attemptsMade: attempts)
            case .error(let error):
                last = (Self.headline(error, timeout: timeout), "")
                lastResponse = nil
            case .response(let response):
                lastStatus = response.status
                let line = FailureReason.status(response.status)
                switch RetryPolicy.verdict(forStatus: response.status) {
                case .delivered:
                    return .delivered(attempts: attempts, status: response.status)
                case .final:
                    let reason = FailureReason.gaveUp(line, attempts: attempts, note: "not retried",
                                                      detail: redactor.bodyPrefix(response.body))
                    return .failed(reason: reason, status: response.status, attempts: attempts)
                case .retry:
                    last = (line, redactor.bodyPrefix(response.body))
                    lastStatusLine = line
                    lastResponse = response
                }
            }
            guard attempts < maxAttempts else {
                let failure = last ?? (headline: "no response", detail: "")
                var note: String?
                if lastResponse == nil, let lastStatusLine { note = "last status: \(lastStatusLine)" }
                let reason = FailureReason.gaveUp(failure.headline, attempts: attempts, note: note, detail: failure.detail)
                return .failed(reason: reason, status: lastStatus, attempts: attempts)
            }
            let delay = policy.delay(beforeRetry: attempts, after: lastResponse)
            if let stop = await wait(delay, abandon: abandon) { return stopped(stop, attemptsMade: attempts) }
        }
    }

    /// What a transport error says in a reason; a timeout names the limit, which the error itself does not know.
    static func headline(_ error: HTTPTransportError, timeout: Duration) -> String {
        switch error {
        case .timedOut:
            let (seconds, attoseconds) = timeout.components
            let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
            return "timed out (no complete response within \(milliseconds) ms)"
        default:
            return error.description
        }
    }

    private enum AttemptResult: Sendable {
        case response(HTTPResponse)
        case error(HTTPTransportError)
        case stopped(String)
    }

    private func stopReason(_ abandon: @Sendable () -> Bool) -> String? {
        if Task.isCancelled { return Self.cancelledReason }
        if abandon() { return Self.abandonedReason }
        return nil
    }

    /// One send raced against the abandon poller, so a drain deadline does not wait out a slow server.
    private func attempt(_ request: HTTPRequest, abandon: @escaping @Sendable () -> Bool) async -> AttemptResult {
        let transport = self.transport, timeout = self.timeout, pollInterval = self.pollInterval
        return await withTaskGroup(of: AttemptResult?.self) { group in
            group.addTask {
                do {
                    return .response(try await transport.send(request, timeout: timeout))
                } catch let error as HTTPTransportError {
                    return .error(error)
                } catch is CancellationError {
                    return .error(.cancelled)
                } catch {
                    return .error(URLSessionTransport.transportError(error))
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    if abandon() { return .stopped(Self.abandonedReason) }
                    try? await Task.sleep(for: pollInterval)
                }
                return nil
            }
            var outcome: AttemptResult = .stopped(Self.cancelledReason)
            while let next = await group.next() {
                guard let result = next else { continue }
                outcome = result
                break
            }
            group.cancelAll()
            if Task.isCancelled, case .error(.cancelled) = outcome { return .stopped(Self.cancelledReason) }
            return outcome
        }
    }

    /// Sleeps `delay` in slices, returning the stop reason if abandoned or cancelled meanwhile.
    private func wait(_ delay: Duration, abandon: @Sendable () -> Bool) async -> String? {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: delay)
        while true {
            if let stop = stopReason(abandon) { return stop }
            let remaining = clock.now.duration(to: end)
            if remaining <= .zero { return nil }
            try? await Task.sleep(for: min(remaining, pollInterval))
        }
    }
}

/// Builds failure reasons from a response body without letting the request's secrets through: servers
/// sometimes echo the key they rejected ("invalid API key sk-...").
struct SecretRedactor: Sendable {
    /// How much of a response body goes into a reason.
    static let bodyPrefixLimit = 200
    /// Headers whose values are plainly not secret; every other request header value is redacted.
    static let publicHeaders: Set<String> = [
        "content-type", "content-length", "content-encoding", "accept", "accept-encoding", "user-agent",
        "statsig-client-time", "statsig-sdk-type", "statsig-sdk-version", "connection", "host",
    ]

    let secrets: [String]

    init(request: HTTPRequest) {
        var secrets: [String] = []
        for header in request.headers where !Self.publicHeaders.contains(header.name.lowercased()) {
            let value = header.value.trimmingCharacters(in: .whitespaces)
            secrets.append(value)
            // "Basic <base64>" and "Bearer <token>": the bare token and Basic's decoded user and password too.
            if let space = value.firstIndex(of: " ") {
                let token = String(value[value.index(after: space)...]).trimmingCharacters(in: .whitespaces)
                secrets.append(token)
                if value.lowercased().hasPrefix("basic "), let data = Data(base64Encoded: token),
                   let decoded = String(data: data, encoding: .utf8) {
                    secrets.append(decoded)
                    secrets.append(contentsOf: decoded.split(separator: ":").map(String.init))
                }
            }
        }
        // Short values ("1", "yes") would shred ordinary text and are not credentials; longest first so a
        // value is replaced before any part of it.
        self.secrets = Array(Set(secrets.filter { $0.count >= 6 })).sorted { $0.count > $1.count }
    }

    /// "HTTP 400 (note): body prefix", redacted and on one line.
    func reason(status: Int, note: String?, body: [UInt8]) -> String {
        var reason = "HTTP \(status)"
        if let note { reason += " (\(note))" }
        let prefix = bodyPrefix(body)
        if !prefix.isEmpty { reason += ": " + prefix }
        return reason
    }

    /// The first ~200 bytes of `body` as one line of text with secrets replaced by `[redacted]`.
    func bodyPrefix(_ body: [UInt8]) -> String {
        guard !body.isEmpty else { return "" }
        // Redact over a wider window than is shown, so a secret straddling the cut is still caught whole.
        let longest = secrets.first?.utf8.count ?? 0
        let window = body.prefix(Self.bodyPrefixLimit + longest)
        var text = String(decoding: window, as: UTF8.self)
        text = redact(text)
        text = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        let limit = Self.bodyPrefixLimit
        if text.utf8.count > limit || body.count > window.count {
            var cut = ""
            for character in text {
                if cut.utf8.count + character.utf8.count > limit { break }
                cut.append(character)
            }
            text = cut + "…"
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// Replaces every occurrence of a request secret in `text`.
    func redact(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return text
    }
}
