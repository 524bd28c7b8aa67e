/// Which inbound keys one family of endpoints (Statsig or Segment) accepts.
enum KeyPolicy: Sendable, Equatable {
    /// Only these.
    case only(Set<String>)
    /// Any key, or none: no keys are configured and the relay listens on a loopback address.
    case anyKey
    /// Nothing: no keys are configured and the relay is reachable from other machines.
    case noKeysConfigured

    init(keys: [String], loopback: Bool) {
        if !keys.isEmpty {
            self = .only(Set(keys))
        } else {
            self = loopback ? .anyKey : .noKeysConfigured
        }
    }

    func accepts(_ key: String?) -> Bool {
        switch self {
        case .only(let keys): key.map(keys.contains) ?? false
        case .anyKey: true
        case .noKeysConfigured: false
        }
    }
}
