/// `--dry-run`: instead of sending a batch, writes the request that would have been sent to standard output as
/// one JSON line `{"destination","method","url","headers","body"}`, so a user can see exactly what each
/// destination would receive.
///
/// The request is built by the same ``HTTPRequestTarget`` as a real send. `body` is the request's JSON body as
/// an object (a body that is not one JSON document, which no built-in encoder writes, appears as a string).
/// Secrets are masked where Sluice put them, and only there: values of credential headers (`Authorization`,
/// `STATSIG-API-KEY`, webhook headers) keeping an auth scheme such as `Basic`, any configured secret inside the
/// URL and the other header values, and the `app_id` that leads a Heap body. The events in the body are the
/// user's data and are shown byte-exact, so a dry run can be replayed: a plain substring replace would turn a
/// write key `test` into `pricing_page_[REDACTED]` inside an experiment name.
///
/// A batch written this way counts as delivered, with zero requests: nothing went over the network.
struct DryRunSender: BatchSender {
    let target: HTTPRequestTarget
    let sink: FileDescriptorSink
    let redactor: Redactor

    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        let request: HTTPRequest
        switch target.request(for: batch) {
        case .success(let built): request = built
        case .failure(let error): return .failed(reason: error.reason, attempts: 0)
        }
        if let error = sink.write(line(for: request)) { return .writeFailed(reason: "dry run: \(error)") }
        return .delivered(attempts: 0)
    }

    /// The JSON line for `request`, secrets masked, ending in a newline.
    func line(for request: HTTPRequest) -> [UInt8] {
        var w = JSONWriter(capacity: request.body.count + 256)
        w.appendRaw("{\"destination\":"); w.appendString(target.destination)
        w.appendRaw(",\"method\":"); w.appendString(request.method)
        w.appendRaw(",\"url\":"); w.appendString(request.url.absoluteString)
        w.appendRaw(",\"headers\":{")
        for (k, header) in request.headers.enumerated() {
            if k > 0 { w.appendByte(UInt8(ascii: ",")) }
            w.appendString(header.name)
            w.appendByte(UInt8(ascii: ":"))
            w.appendString(Self.shown(header))
        }
        w.appendRaw("},\"body\":")
        // Everything so far is Sluice's own text (name, method, URL, headers): mask any configured secret in it.
        var out = redactor.redact(w.bytes)
        let body = Self.maskingCredential(in: request.body)
        if Self.isOneJSONDocument(body) {
            out.append(contentsOf: body.trimmingJSONWhitespace)
        } else {
            out.withJSONWriter { w in body.withUnsafeBytes { w.appendString(utf8: $0) } }
        }
        out.appendLiteral("}\n")
        return out
    }

    /// How Heap's body begins: `HeapFormat` writes the configured app ID as its first member.
    static let credentialBodyPrefix = Array("{\"app_id\":\"".utf8)

    /// `body` with the JSON string value of a leading `app_id` member (the credential Heap's body carries)
    /// replaced by the mask; every other byte unchanged.
    static func maskingCredential(in body: [UInt8]) -> [UInt8] {
        guard body.starts(with: credentialBodyPrefix) else { return body }
        var i = credentialBodyPrefix.count
        while i < body.count {
            switch body[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""):
                return Array(body[..<credentialBodyPrefix.count]) + Redactor.mask + Array(body[i...])
            default: i += 1
            }
        }
        return body
    }

    /// A header's value as dry-run shows it: credentials masked, everything else as sent.
    static func shown(_ header: (name: String, value: String)) -> String {
        guard !SecretRedactor.publicHeaders.contains(header.name.lowercased()) else { return header.value }
        let mask = String(decoding: Redactor.mask, as: UTF8.self)
        // "Basic …" / "Bearer …": the scheme tells the user which auth is used and is no secret.
        if let space = header.value.firstIndex(of: " ") {
            let scheme = header.value[..<space]
            if ["basic", "bearer"].contains(scheme.lowercased()) { return "\(scheme) \(mask)" }
        }
        return mask
    }

    static func isOneJSONDocument(_ body: [UInt8]) -> Bool {
        guard !body.isEmpty else { return false }
        var reader = JSONReader()
        do { try reader.parse(body) } catch { return false }
        return true
    }
}

private extension Array where Element == UInt8 {
    /// The bytes without surrounding JSON whitespace, so a body ending in a newline stays on one dry-run line.
    var trimmingJSONWhitespace: ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        var start = 0, end = count
        while start < end, isSpace(self[start]) { start += 1 }
        while end > start, isSpace(self[end - 1]) { end -= 1 }
        return self[start..<end]
    }
}
