import Foundation

/// Loader for the integration keys: `statsigSpecs`, `experiments`, `input.timestampUnit`, and the destination
/// keys `rateLimit`, `compression` and `idType`. A problem is recorded in the decoder's log and decoding goes on
/// (the key keeps its default), so `sluice validate` lists it alongside every other problem of the file.
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
                if specs.values["serverSecret"] == nil {
                    log.add(ConfigurationError(keyPath: specs.path, message: "needs \"file\" (a saved download_config_specs response) or \"serverSecret\""))
                }
                return naming
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
            log.add(ConfigurationError(keyPath: input.path(for: "timestampUnit"), message: "expected one of \(expected) (got \"\(text)\")"))
            return .milliseconds
        }
        return unit
    }

    func integrationSettings(_ object: JSONObject, into destination: inout DestinationConfiguration) throws(ConfigurationError) {
        if object.isNull("rateLimit") {
            destination.rateLimit = .off
        } else if let value = object.values["rateLimit"] {
            let path = object.path(for: "rateLimit")
            let elements = (value as? [Any])?.enumerated().map { ("\(path)[\($0.offset)]", $0.element) } ?? [(path, value)]
            var limits: [RateLimit] = []
            var complete = true
            for (elementPath, element) in elements {
                do {
                    if let limit = try rateLimit(JSONObject(element, path: elementPath, decoder: self)) {
                        limits.append(limit)
                    } else {
                        complete = false
                    }
                } catch {
                    log.add(error)
                    complete = false
                }
            }
            // A rule that could not be read leaves the kind's default in place (its problem is already reported).
            if complete { destination.rateLimit = .limits(limits) }
        }
        if let text = try object.string("compression") {
            if let compression = BodyCompression(rawValue: text) {
                destination.compression = compression
            } else {
                log.add(ConfigurationError(keyPath: object.path(for: "compression"), message: "expected none or gzip (got \"\(text)\")"))
            }
        }
        destination.idType = try object.string("idType")
    }

    /// One rule, or nil when it cannot be used (the problem is recorded).
    private func rateLimit(_ object: JSONObject) throws(ConfigurationError) -> RateLimit? {
        try object.allowOnly(["events", "requests", "perSeconds"])
        guard let seconds = try object.double("perSeconds") else {
            if object.values["perSeconds"] == nil {
                log.add(ConfigurationError(keyPath: object.path(for: "perSeconds"), message: "required (the window in seconds)"))
            }
            return nil
        }
        let events = try object.int("events"), requests = try object.int("requests")
        // A count that was given but could not be read is already reported; the rule is not used.
        if (events == nil && object.values["events"] != nil) || (requests == nil && object.values["requests"] != nil) {
            // The rule's other problems are still listed (validation never sees a rule that is not used).
            RateLimit.windowProblems(seconds, at: object.path).forEach(log.add)
            return nil
        }
        return RateLimit(events: events, requests: requests, perSeconds: seconds)
    }
}
