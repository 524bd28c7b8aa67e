/// Removes configured secrets (write keys, API keys, app IDs, webhook header values) from text Sluice writes
/// itself: failure reasons, URLs and header values in dry-run output, log lines.
///
/// It works on text, so it is applied only where Sluice placed the text, never to event data: with a write key
/// `test` it would turn an experiment named `pricing_page_test` into `pricing_page_[REDACTED]`. Within that text,
/// a secret of ``wholeWordBelow`` characters or more is masked wherever it occurs; a shorter one (a test key such
/// as `k`) only where it stands alone, so "unknown" does not become "un[REDACTED]nown". A short secret inside a
/// longer word does not show the secret.
public struct Redactor: Sendable {
    /// What a secret is replaced with.
    public static let mask: [UInt8] = Array("[REDACTED]".utf8)
    private let secrets: [[UInt8]]

    /// Creates a redactor for `secrets`; empty strings are ignored, and longer secrets are replaced first so a
    /// secret containing another is masked whole.
    public init(secrets: [String]) {
        self.secrets = Array(Set(secrets.filter { !$0.isEmpty })).map { Array($0.utf8) }.sorted { $0.count > $1.count }
    }

    /// Secrets shorter than this are masked only as whole words (not next to a letter, digit or `_`).
    public static let wholeWordBelow = 8

    /// Whether there is anything to redact.
    public var isEmpty: Bool { secrets.isEmpty }

    /// `bytes` with every occurrence of every secret replaced by ``mask`` (short secrets: whole words only).
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
                if i <= limit && current[i] == first && current[i..<i + secret.count].elementsEqual(secret)
                    && (secret.count >= Self.wholeWordBelow || Self.standsAlone(current, i, i + secret.count)) {
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

    /// Whether `bytes[start..<end]` has no word character (ASCII letter, digit, `_`) on either side.
    private static func standsAlone(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Bool {
        func isWord(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
        }
        return (start == 0 || !isWord(bytes[start - 1])) && (end == bytes.count || !isWord(bytes[end]))
    }

    /// `text` with every secret replaced by ``mask``.
    public func redact(_ text: String) -> String {
        String(decoding: redact(Array(text.utf8)), as: UTF8.self)
    }
}
