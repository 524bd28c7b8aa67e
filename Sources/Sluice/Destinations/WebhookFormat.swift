/// A generic webhook body (`type: webhook`): `{"data":[...]}` of Statsig export-format events, the wrapper
/// Statsig's own webhook integration uses, so a receiver written for Statsig's webhook works unchanged.
struct WebhookFormat: EventEncoder {
    let prefix: [UInt8] = Array("{\"data\":[".utf8)
    let separator: [UInt8] = [UInt8(ascii: ",")]
    let suffix: [UInt8] = Array("]}".utf8)

    func encode(_ event: Event, identity: ResolvedIdentity, arena: UnsafeRawBufferPointer, into out: inout [UInt8]) -> String? {
        StatsigExportFormat.append(event, unitID: identity.unitID, arena: arena, to: &out)
        return nil
    }
}
