import Foundation

/// Loader for the integration keys: `statsigSpecs`, `experiments`, `input.timestampUnit`, and the destination
/// keys `rateLimit`, `compression` and `idType`.
extension ConfigurationDecoder {
    func experimentNaming(_ root: JSONObject) throws(ConfigurationError) -> ExperimentNamingConfiguration {
        var naming = ExperimentNamingConfiguration()
        naming.patterns = try root.strings("experiments") ?? []
        guard let specs = try root.object("statsigSpecs") else { return naming }
        if let path = try specs.string("file") {
            try specs.allowOnly(["file"])
            naming.specs = .file(path: path)
        } else {
            try specs.allowOnly(["serverSecret", "url", "refreshSeconds", "required"])
            guard let secret = try specs.string("serverSecret") else {
                throw ConfigurationError(keyPath: specs.path, message: "needs \"file\" (a saved download_config_specs response) or \"serverSecret\"")
            }
            naming.specs = .remote(
                serverSecret: secret, url: try specs.string("url") ?? StatsigSpecsSource.defaultURL,
                refreshSeconds: try specs.double("refreshSeconds") ?? StatsigSpecsSource.defaultRefreshSeconds,
                required: try specs.bool("required") ?? true)
        }
        return naming
    }

    func timestampUnit(_ input: JSONObject) throws(ConfigurationError) -> TimestampUnit {
        guard let text = try input.string("timestampUnit") else { return .milliseconds }
        guard let unit = TimestampUnit(rawValue: text) else {
            let expected = TimestampUnit.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(keyPath: input.path(for: "timestampUnit"), message: "expected one of \(expected) (got \"\(text)\")")
        }
        return unit
    }

    func integrationSettings(_ object: JSONObject, into destination: inout DestinationConfiguration) throws(ConfigurationError) {
        if object.isNull("rateLimit") {
            destination.rateLimit = .off
        } else if let value = object.values["rateLimit"] {
            let path = object.path(for: "rateLimit")
            if let list = value as? [Any] {
                var limits: [RateLimit] = []
                for (index, element) in list.enumerated() {
                    limits.append(try rateLimit(JSONObject(element, path: "\(path)[\(index)]", decoder: self)))
                }
                destination.rateLimit = .limits(limits)
            } else {
                destination.rateLimit = .limits([try rateLimit(JSONObject(value, path: path, decoder: self))])
            }
        }
        if let text = try object.string("compression") {
            guard let compression = BodyCompression(rawValue: text) else {
                throw ConfigurationError(keyPath: object.path(for: "compression"), message: "expected none or gzip (got \"\(text)\")")
            }
            destination.compression = compression
        }
        destination.idType = try object.string("idType")
    }

    private func rateLimit(_ object: JSONObject) throws(ConfigurationError) -> RateLimit {
        try object.allowOnly(["events", "requests", "perSeconds"])
        guard let seconds = try object.double("perSeconds") else {
            throw ConfigurationError(keyPath: object.path(for: "perSeconds"), message: "required (the window in seconds)")
        }
        return RateLimit(events: try object.int("events"), requests: try object.int("requests"), perSeconds: seconds)
    }
}
