/// Removes configured secrets (write keys, API keys, app IDs, webhook header values) from text before it
/// leaves the engine as a log line, a dry-run request or a dead letter.
public struct Redactor: Sendable {
    /// What a secret is replaced with.
    public static let mask: [UInt8] = Array("[REDACTED]".utf8)
    private let secrets: [[UInt8]]

    /// Creates a redactor for `secrets`; empty strings are ignored, and longer secrets are replaced first so a
    /// secret containing another is masked whole.
    public init(secrets: [String]) {
        self.secrets = Array(Set(secrets.filter { !$0.isEmpty })).map { Array($0.utf8) }.sorted { $0.count > $1.count }
    }

    /// Whether there is anything to redact.
    public var isEmpty: Bool { secrets.isEmpty }

    /// `bytes` with every occurrence of every secret replaced by ``mask``.
    public func redact(_ bytes: [UInt8]) -> [UInt8] {
        guard !secrets.isEmpty else { return bytes }
        var current = bytes
        for secret in secrets {
            guard let first = secret.first, current.count >= secret.count else { continue }
            var result: [UInt8] = []
            var i = 0
            var changed = false
            let limit = current.count - secret.count
            while i < current.count {
                if i <= limit && current[i] == first && current[i..<i + secret.count].elementsEqual(secret) {
                    if !changed { result.reserveCapacity(current.count); result.append(contentsOf: current[0..<i]); changed = true }
                    result.append(contentsOf: Redactor.mask)
                    i += secret.count
                } else {
                    if changed { result.append(current[i]) }
                    i += 1
                }
            }
            if changed { current = result }
        }
        return current
    }

    /// `text` with every secret replaced by ``mask``.
    public func redact(_ text: String) -> String {
        String(decoding: redact(Array(text.utf8)), as: UTF8.self)
    }
}
