import Foundation

/// Reads the `--config` JSON file into a ``PipelineConfiguration``.
///
/// Strict by design: an unknown key is an error naming its path and the keys that would be accepted, because a
/// misspelt `maxEvnts` silently ignored would ship with the default. `${NAME}` in any string value is replaced by
/// the environment variable NAME (`$${` writes a literal `${`); a missing variable is an error. Errors never
/// include the value of a secret. Foundation's `JSONSerialization` is fast enough for a file read once.
public enum ConfigurationLoader {
    /// Reads, parses and validates a configuration file.
    /// - Parameters:
    ///   - environment: the variables `${NAME}` refers to; injectable so tests need not touch the process.
    ///   - defaultOutputFormat: the format of the default stdout destination, used when the file names no
    ///     destinations (`--format`).
    public static func load(
        contentsOfFile path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        defaultOutputFormat: OutputFormat = .statsig
    ) throws(ConfigurationError) -> PipelineConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(
                keyPath: "", message: "cannot read configuration file \(path): \(error.localizedDescription)")
        }
        return try parse(data, environment: environment, defaultOutputFormat: defaultOutputFormat)
    }

    /// Parses and validates a configuration held in memory.
    public static func parse(
        _ json: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        defaultOutputFormat: OutputFormat = .statsig
    ) throws(ConfigurationError) -> PipelineConfiguration {
        try parse(Data(json.utf8), environment: environment, defaultOutputFormat: defaultOutputFormat)
    }

    /// Parses and validates a configuration held in memory.
    public static func parse(
        _ data: Data,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        defaultOutputFormat: OutputFormat = .statsig
    ) throws(ConfigurationError) -> PipelineConfiguration {
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw ConfigurationError(keyPath: "", message: "not valid JSON" + (detail.map { ": \($0)" } ?? ""))
        }
        let decoder = ConfigurationDecoder(environment: environment, defaultOutputFormat: defaultOutputFormat)
        let configuration = try decoder.configuration(from: document)
        try configuration.validate()
        return configuration
    }
}

/// Turns the parsed JSON tree into the model, one key path at a time.
struct ConfigurationDecoder {
    let environment: [String: String]
    let defaultOutputFormat: OutputFormat

    func configuration(from document: Any) throws(ConfigurationError) -> PipelineConfiguration {
        let root = try JSONObject(document, path: "", decoder: self)
        try root.allowOnly(["dedupe", "filter", "segmentInbound", "input", "drainTimeoutSeconds", "destinations"])
        var configuration = PipelineConfiguration()
        if let dedupe = try root.object("dedupe") {
            try dedupe.allowOnly(["enabled", "capacity", "windowSeconds"])
            configuration.dedupe = DedupeConfiguration(
                enabled: try dedupe.bool("enabled") ?? true,
                capacity: try dedupe.int("capacity") ?? 1_000_000,
                windowSeconds: try dedupe.int("windowSeconds") ?? 3600)
        }
        if let filter = try root.object("filter") {
            configuration.filter = try selection(filter)
        }
        if let inbound = try root.object("segmentInbound") {
            try inbound.allowOnly(["events", "anonymousIdAs"])
            let defaults = SegmentInboundConfiguration()
            configuration.segmentInbound = SegmentInboundConfiguration(
                events: try inbound.strings("events") ?? defaults.events,
                anonymousIdAs: try inbound.string("anonymousIdAs") ?? defaults.anonymousIdAs)
        }
        if let input = try root.object("input") {
            try input.allowOnly(["maxLineBytes", "chunkSize", "queueCapacity", "redis"])
            let defaults = InputConfiguration()
            configuration.input = InputConfiguration(
                maxLineBytes: try input.int("maxLineBytes") ?? defaults.maxLineBytes,
                chunkSize: try input.int("chunkSize") ?? defaults.chunkSize,
                queueCapacity: try input.int("queueCapacity") ?? defaults.queueCapacity)
            if let redis = try input.object("redis") { configuration.input.redis = try redisInput(redis) }
        }
        if let seconds = try root.double("drainTimeoutSeconds") {
            configuration.drainTimeoutSeconds = seconds
        }
        let destinations = try root.array("destinations") ?? []
        if destinations.isEmpty {
            configuration.destinations = DestinationConfiguration.defaultDestinations(format: defaultOutputFormat)
        } else {
            var parsed: [DestinationConfiguration] = []
            for (index, element) in destinations.enumerated() {
                let object = try JSONObject(element, path: "destinations[\(index)]", decoder: self)
                parsed.append(try destination(object))
            }
            configuration.destinations = parsed
        }
        return configuration
    }

    func selection(_ object: JSONObject) throws(ConfigurationError) -> EventSelection {
        try object.allowOnly(["categories", "include", "exclude"])
        var categories: Set<EventCategory>?
        if let names = try object.strings("categories") {
            var set = Set<EventCategory>()
            for (index, name) in names.enumerated() {
                guard let category = EventCategory(rawValue: name) else {
                    let expected = EventCategory.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ConfigurationError(
                        keyPath: "\(object.path(for: "categories"))[\(index)]",
                        message: "unknown category \"\(name)\" (expected one of \(expected))")
                }
                set.insert(category)
            }
            categories = set
        }
        return EventSelection(
            categories: categories,
            include: try object.strings("include") ?? ["*"],
            exclude: try object.strings("exclude") ?? [])
    }

    private static let destinationTypes = ["stdout", "file", "segment", "heap", "statsig", "statsig-idlists", "webhook", "redis-stream"]
    private static let commonDestinationKeys = [
        "name", "type", "events", "batch", "retry", "concurrency", "timeoutMs", "overflow", "identifiers",
    ]

    func destination(_ object: JSONObject) throws(ConfigurationError) -> DestinationConfiguration {
        let typeList = Self.destinationTypes.joined(separator: ", ")
        guard let type = try object.string("type") else {
            throw ConfigurationError(keyPath: object.path(for: "type"), message: "required (one of \(typeList))")
        }
        let kind: DestinationConfiguration.Kind
        switch type {
        case "stdout":
            try object.allowOnly(Self.commonDestinationKeys + ["format"])
            kind = .stdout(format: try format(object))
        case "file":
            try object.allowOnly(Self.commonDestinationKeys + ["path", "format"])
            kind = .file(path: try object.required("path", for: type), format: try format(object))
        case "segment":
            try object.allowOnly(Self.commonDestinationKeys + ["endpoint", "writeKey"])
            kind = .segment(
                endpoint: try object.string("endpoint") ?? DestinationConfiguration.Kind.defaultSegmentEndpoint,
                writeKey: try object.required("writeKey", for: type))
        case "heap":
            try object.allowOnly(Self.commonDestinationKeys + ["endpoint", "appID"])
            kind = .heap(
                endpoint: try object.string("endpoint") ?? DestinationConfiguration.Kind.defaultHeapEndpoint,
                appID: try object.required("appID", for: type))
        case "statsig":
            try object.allowOnly(Self.commonDestinationKeys + ["endpoint", "apiKey"])
            kind = .statsig(
                endpoint: try object.string("endpoint") ?? DestinationConfiguration.Kind.defaultStatsigEndpoint,
                apiKey: try object.required("apiKey", for: type))
        case "statsig-idlists":
            try object.allowOnly(Self.commonDestinationKeys + ["endpoint", "apiKey"])
            kind = .statsigIDLists(
                endpoint: try object.string("endpoint")
                    ?? DestinationConfiguration.Kind.defaultStatsigIDListsEndpoint,
                apiKey: try object.required("apiKey", for: type))
        case "redis-stream":
            try object.allowOnly(Self.commonDestinationKeys + Self.redisStreamKeys)
            kind = .redisStream(try redisStream(object))
        case "webhook":
            try object.allowOnly(Self.commonDestinationKeys + ["url", "headers"])
            kind = .webhook(url: try object.required("url", for: type), headers: try object.stringMap("headers") ?? [:])
        default:
            throw ConfigurationError(
                keyPath: object.path(for: "type"),
                message: "unknown destination type \"\(type)\" (expected one of \(typeList))")
        }
        guard let name = try object.string("name") else {
            throw ConfigurationError(keyPath: object.path(for: "name"), message: "required")
        }
        var destination = DestinationConfiguration(name: name, kind: kind)
        if let events = try object.object("events") {
            destination.events = try selection(events)
        }
        if let batch = try object.object("batch") {
            try batch.allowOnly(["maxEvents", "maxBytes", "maxDelayMs"])
            destination.batch.maxEvents = try batch.int("maxEvents") ?? destination.batch.maxEvents
            destination.batch.maxBytes = try batch.int("maxBytes") ?? destination.batch.maxBytes
            destination.batch.maxDelayMs = try batch.int("maxDelayMs") ?? destination.batch.maxDelayMs
        }
        if let retry = try object.object("retry") {
            try retry.allowOnly(["maxAttempts", "initialBackoffMs", "maxBackoffMs"])
            destination.retry.maxAttempts = try retry.int("maxAttempts") ?? destination.retry.maxAttempts
            destination.retry.initialBackoffMs = try retry.int("initialBackoffMs") ?? destination.retry.initialBackoffMs
            destination.retry.maxBackoffMs = try retry.int("maxBackoffMs") ?? destination.retry.maxBackoffMs
        }
        destination.concurrency = try object.int("concurrency") ?? destination.concurrency
        destination.timeoutMs = try object.int("timeoutMs") ?? destination.timeoutMs
        if let overflow = try object.string("overflow") {
            guard let policy = OverflowPolicy(rawValue: overflow) else {
                let expected = OverflowPolicy.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationError(
                    keyPath: object.path(for: "overflow"), message: "expected one of \(expected) (got \"\(overflow)\")")
            }
            destination.overflow = policy
        }
        if let identifiers = try object.object("identifiers") {
            destination.identifiers = try identifierMapping(identifiers, format: kind.format)
        }
        return destination
    }

    func format(_ object: JSONObject) throws(ConfigurationError) -> OutputFormat {
        guard let text = try object.string("format") else { return .statsig }
        guard let format = OutputFormat(rawValue: text) else {
            let expected = OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(
                keyPath: object.path(for: "format"), message: "expected one of \(expected) (got \"\(text)\")")
        }
        return format
    }

    func identifierMapping(
        _ object: JSONObject, format: OutputFormat
    ) throws(ConfigurationError) -> IdentifierMapping {
        var mapping = IdentifierMapping()
        switch format {
        case .segment:
            try object.allowOnly(["userId", "anonymousId"])
            mapping.userId = try object.string("userId") ?? mapping.userId
            if object.isNull("anonymousId") {
                mapping.anonymousId = nil
            } else if let anonymousId = try object.string("anonymousId") {
                mapping.anonymousId = anonymousId == "none" ? nil : anonymousId
            }
        case .heap:
            try object.allowOnly(["identity"])
            mapping.identity = try object.string("identity") ?? mapping.identity
        case .statsig:
            throw ConfigurationError(
                keyPath: object.path,
                message: "only destinations that write the segment or heap format map identifiers "
                    + "(this one writes statsig)")
        }
        return mapping
    }

    /// Replaces `${NAME}` with the environment variable NAME; `$${` stays a literal `${`.
    func substitute(_ text: String, path: String) throws(ConfigurationError) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            guard character == "$", next < text.endIndex else {
                result.append(character)
                index = next
                continue
            }
            if text[next] == "$" {
                let brace = text.index(after: next)
                if brace < text.endIndex, text[brace] == "{" {
                    result += "${"
                    index = text.index(after: brace)
                    continue
                }
            }
            guard text[next] == "{" else {
                result.append(character)
                index = next
                continue
            }
            let nameStart = text.index(after: next)
            guard let close = text[nameStart...].firstIndex(of: "}") else {
                throw ConfigurationError(keyPath: path, message: "unterminated ${ (write $${ for a literal ${)")
            }
            let name = String(text[nameStart..<close])
            guard Self.isVariableName(name) else {
                throw ConfigurationError(
                    keyPath: path,
                    message: "invalid environment variable name in ${...} "
                        + "(letters, digits and _, not starting with a digit)")
            }
            guard let value = environment[name] else {
                throw ConfigurationError(keyPath: path, message: "environment variable \(name) is not set")
            }
            result += value
            index = text.index(after: close)
        }
        return result
    }

    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            byte == UInt8(ascii: "_")
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }
}

/// A JSON object with the path it was found at, so every accessor can name the key in its errors.
struct JSONObject {
    let path: String
    let values: [String: Any]
    let decoder: ConfigurationDecoder

    init(_ value: Any, path: String, decoder: ConfigurationDecoder) throws(ConfigurationError) {
        guard let values = value as? [String: Any] else {
            throw ConfigurationError(
                keyPath: path, message: "expected an object (got \(JSONObject.describe(value)))")
        }
        self.path = path
        self.values = values
        self.decoder = decoder
    }

    func path(for key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Rejects the first unknown key, in sorted order so the report is the same on every run.
    func allowOnly(_ allowed: [String]) throws(ConfigurationError) {
        for key in values.keys.sorted() where !allowed.contains(key) {
            throw ConfigurationError(
                keyPath: path(for: key),
                message: "unknown key (expected one of \(allowed.joined(separator: ", ")))")
        }
    }

    func isNull(_ key: String) -> Bool { values[key] is NSNull }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = values[key] else { return nil }
        guard let text = value as? String else { throw typeError(key, "a string", value) }
        return try decoder.substitute(text, path: path(for: key))
    }

    func required(_ key: String, for type: String) throws(ConfigurationError) -> String {
        guard let text = try string(key) else {
            throw ConfigurationError(keyPath: path(for: key), message: "required for a \(type) destination")
        }
        return text
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = values[key] else { return nil }
        guard let number = value as? NSNumber, Self.isBoolean(number) else {
            throw typeError(key, "a boolean", value)
        }
        return number.boolValue
    }

    func int(_ key: String) throws(ConfigurationError) -> Int? {
        guard let value = values[key] else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number), let integer = Int(exactly: number.doubleValue)
        else { throw typeError(key, "an integer", value) }
        return integer
    }

    func double(_ key: String) throws(ConfigurationError) -> Double? {
        guard let value = values[key] else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number) else {
            throw typeError(key, "a number", value)
        }
        return number.doubleValue
    }

    func object(_ key: String) throws(ConfigurationError) -> JSONObject? {
        guard let value = values[key] else { return nil }
        return try JSONObject(value, path: path(for: key), decoder: decoder)
    }

    func array(_ key: String) throws(ConfigurationError) -> [Any]? {
        guard let value = values[key] else { return nil }
        guard let array = value as? [Any] else { throw typeError(key, "an array", value) }
        return array
    }

    func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let array = try array(key) else { return nil }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            let elementPath = "\(path(for: key))[\(index)]"
            guard let text = element as? String else {
                throw ConfigurationError(
                    keyPath: elementPath, message: "expected a string (got \(Self.describe(element)))")
            }
            result.append(try decoder.substitute(text, path: elementPath))
        }
        return result
    }

    func stringMap(_ key: String) throws(ConfigurationError) -> [String: String]? {
        guard let object = try object(key) else { return nil }
        var result: [String: String] = [:]
        for name in object.values.keys.sorted() {
            result[name] = try object.string(name)
        }
        return result
    }

    private func typeError(_ key: String, _ expected: String, _ value: Any) -> ConfigurationError {
        // Only the kind of value is quoted, never the value: it may be a misplaced secret.
        ConfigurationError(keyPath: path(for: key), message: "expected \(expected) (got \(Self.describe(value)))")
    }

    /// JSONSerialization gives booleans and numbers the same class; booleans alone have the `char` type code.
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    static func describe(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if let number = value as? NSNumber { return isBoolean(number) ? "a boolean" : "a number" }
        if value is String { return "a string" }
        if value is [Any] { return "an array" }
        if value is [String: Any] { return "an object" }
        return "an unsupported value"
    }
}
