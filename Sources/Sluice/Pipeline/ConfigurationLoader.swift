import Foundation

/// Reads the `--config` JSON file into a ``PipelineConfiguration``.
///
/// Strict by design: an unknown key is an error naming its path and the keys that would be accepted, because a
/// misspelt `maxEvnts` silently ignored would ship with the default. `${NAME}` in any string value is replaced by
/// the environment variable NAME (`$${` writes a literal `${`); a missing variable is an error. Errors never
/// include the value of a secret. The file is read with the project's strict ``JSONReader`` (RFC 8259: a trailing
/// comma or a duplicate key is an error naming its line, column and byte offset). ``check(contentsOfFile:environment:defaultOutputFormat:)``
/// reports every problem at once; `load` and `parse` throw the first.
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
        try check(contentsOfFile: path, environment: environment, defaultOutputFormat: defaultOutputFormat).firstError()
    }

    /// Reads, parses and validates a configuration file, collecting every problem (`sluice validate`) rather
    /// than stopping at the first.
    public static func check(
        contentsOfFile path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        defaultOutputFormat: OutputFormat = .statsig
    ) -> Result<PipelineConfiguration, ConfigurationProblems> {
        let data: Data
        do {
            data = try WholeFileReader.contents(of: path)
        } catch {
            return .failure(ConfigurationProblems([ConfigurationError(
                keyPath: "", message: "cannot read configuration file \(path): \(error)")]))
        }
        return check(data, environment: environment, defaultOutputFormat: defaultOutputFormat)
    }

    /// Parses and validates a configuration held in memory, collecting every problem.
    public static func check(
        _ data: Data,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        defaultOutputFormat: OutputFormat = .statsig
    ) -> Result<PipelineConfiguration, ConfigurationProblems> {
        let document: Any
        do {
            document = try ConfigurationDocument.parse(data)
        } catch {
            return .failure(ConfigurationProblems([error]))
        }
        let decoder = ConfigurationDecoder(environment: environment, defaultOutputFormat: defaultOutputFormat)
        let configuration: PipelineConfiguration
        do {
            configuration = try decoder.configuration(from: document)
        } catch {
            decoder.log.add(error)
            return .failure(ConfigurationProblems(decoder.log.errors))
        }
        // Range and consistency checks, except where decoding already reported the key (or the whole destination).
        let problems = decoder.log.errors + configuration.validationErrors().filter { !decoder.log.covers($0.keyPath) }
        return problems.isEmpty ? .success(configuration) : .failure(ConfigurationProblems(problems))
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
        try check(data, environment: environment, defaultOutputFormat: defaultOutputFormat).firstError()
    }
}

/// Every problem found in a configuration, in document order (decoding problems first, then range and
/// consistency checks); ``ConfigurationLoader/check(contentsOfFile:environment:defaultOutputFormat:)`` returns it.
public struct ConfigurationProblems: Error, Sendable, Equatable, CustomStringConvertible {
    /// The problems, each located by key path; never empty.
    public var errors: [ConfigurationError]

    /// Wraps a non-empty list of problems.
    public init(_ errors: [ConfigurationError]) {
        self.errors = errors
    }

    /// One problem per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension Result where Failure == ConfigurationProblems {
    /// The value, or the first problem thrown (the `load` and `parse` API, which predates ``ConfigurationProblems``).
    fileprivate func firstError() throws(ConfigurationError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let problems):
            throw problems.errors.first ?? ConfigurationError(keyPath: "", message: "invalid configuration")
        }
    }
}

/// The decoding problems found so far. A problem with one key is recorded and decoding goes on (the key keeps its
/// default), so `sluice validate` lists every problem of a file in one pass.
final class ConfigurationProblemLog {
    private(set) var errors: [ConfigurationError] = []
    /// Destinations that could not be decoded at all (no or unknown `type`, not an object): their validation
    /// problems would be about a placeholder, not the file.
    private var abandoned: Set<String> = []
    private var reportedKeys: Set<String> = []

    func add(_ error: ConfigurationError) {
        errors.append(error)
        reportedKeys.insert(error.keyPath)
    }

    func abandon(_ path: String, because error: ConfigurationError) {
        add(error)
        abandoned.insert(path)
    }

    /// Whether a validation problem at `keyPath` repeats one already reported (same key, or inside an abandoned destination).
    func covers(_ keyPath: String) -> Bool {
        if reportedKeys.contains(keyPath) { return true }
        return abandoned.contains { keyPath == $0 || keyPath.hasPrefix($0 + ".") }
    }
}

/// Turns the parsed JSON tree into the model, one key path at a time.
struct ConfigurationDecoder {
    let environment: [String: String]
    let defaultOutputFormat: OutputFormat
    let log = ConfigurationProblemLog()

    func configuration(from document: Any) throws(ConfigurationError) -> PipelineConfiguration {
        let root = try JSONObject(document, path: "", decoder: self)
        try root.allowOnly(["dedupe", "filter", "segmentInbound", "input", "drainTimeoutSeconds", "destinations",
                            "statsigSpecs", "experiments", "serve", "spool"])
        var configuration = PipelineConfiguration()
        if let dedupe = try root.object("dedupe") {
            try dedupe.allowOnly(["enabled", "capacity", "windowSeconds"] + Self.sharedDedupeKeys)
            configuration.dedupe = DedupeConfiguration(
                enabled: try dedupe.bool("enabled") ?? true,
                capacity: try dedupe.int("capacity") ?? 1_000_000,
                windowSeconds: try dedupe.int("windowSeconds") ?? 3600)
            configuration.dedupe.shared = try sharedDedupe(dedupe)
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
            try input.allowOnly(["maxLineBytes", "chunkSize", "queueCapacity", "timestampUnit", "redis"])
            let defaults = InputConfiguration()
            configuration.input = InputConfiguration(
                maxLineBytes: try input.int("maxLineBytes") ?? defaults.maxLineBytes,
                chunkSize: try input.int("chunkSize") ?? defaults.chunkSize,
                queueCapacity: try input.int("queueCapacity") ?? defaults.queueCapacity)
            if let redis = try input.object("redis") { configuration.input.redis = try redisInput(redis) }
            configuration.input.timestampUnit = try timestampUnit(input)
        }
        if let serve = try root.object("serve") { configuration.serve = try self.serve(serve) }
        if let seconds = try root.double("drainTimeoutSeconds") {
            configuration.drainTimeoutSeconds = seconds
        }
        configuration.experimentNaming = try experimentNaming(root)
        if let spool = try root.object("spool") { configuration.spool = try SpoolConfiguration(spool) }
        let destinations = try root.array("destinations") ?? []
        if destinations.isEmpty {
            configuration.destinations = DestinationConfiguration.defaultDestinations(format: defaultOutputFormat)
        } else {
            var parsed: [DestinationConfiguration] = []
            for (index, element) in destinations.enumerated() {
                let path = "destinations[\(index)]"
                do {
                    let object = try JSONObject(element, path: path, decoder: self)
                    parsed.append(try destination(object))
                } catch {
                    // Keep the indexes of the others in step with the file; the placeholder's own checks are skipped.
                    log.abandon(path, because: error)
                    parsed.append(DestinationConfiguration(name: path, kind: .stdout()))
                }
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
                    log.add(ConfigurationError(
                        keyPath: "\(object.path(for: "categories"))[\(index)]",
                        message: "unknown category \"\(name)\" (expected one of \(expected))"))
                    continue
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
        "rateLimit", "compression",
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
            try object.allowOnly(Self.commonDestinationKeys + ["path", "format", "mode"])
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
            try object.allowOnly(Self.commonDestinationKeys + ["endpoint", "apiKey", "idType"])
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
        let name: String
        if let given = try object.string("name") {
            name = given
        } else {
            if object.values["name"] == nil { log.add(ConfigurationError(keyPath: object.path(for: "name"), message: "required")) }
            name = object.path
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
            try retry.allowOnly(["maxAttempts", "initialBackoffMs", "maxBackoffMs", "maxRetryAfterSeconds"])
            destination.retry.maxAttempts = try retry.int("maxAttempts") ?? destination.retry.maxAttempts
            destination.retry.initialBackoffMs = try retry.int("initialBackoffMs") ?? destination.retry.initialBackoffMs
            destination.retry.maxBackoffMs = try retry.int("maxBackoffMs") ?? destination.retry.maxBackoffMs
            destination.retry.maxRetryAfterSeconds = try retry.int("maxRetryAfterSeconds") ?? destination.retry.maxRetryAfterSeconds
        }
        destination.concurrency = try object.int("concurrency") ?? destination.concurrency
        destination.timeoutMs = try object.int("timeoutMs") ?? destination.timeoutMs
        if let overflow = try object.string("overflow") {
            if let policy = OverflowPolicy(rawValue: overflow) {
                destination.overflow = policy
            } else {
                let expected = OverflowPolicy.allCases.map(\.rawValue).joined(separator: ", ")
                log.add(ConfigurationError(
                    keyPath: object.path(for: "overflow"), message: "expected one of \(expected) (got \"\(overflow)\")"))
            }
        }
        if let identifiers = try object.object("identifiers") {
            destination.identifiers = try identifierMapping(identifiers, format: kind.format)
        }
        if let mode = try object.string("mode") {
            if let fileMode = FileWriteMode(rawValue: mode) {
                destination.fileMode = fileMode
            } else {
                let expected = FileWriteMode.allCases.map(\.rawValue).joined(separator: ", ")
                log.add(ConfigurationError(keyPath: object.path(for: "mode"), message: "expected one of \(expected) (got \"\(mode)\")"))
            }
        }
        try integrationSettings(object, into: &destination)
        return destination
    }

    func format(_ object: JSONObject) throws(ConfigurationError) -> OutputFormat {
        guard let text = try object.string("format") else { return .statsig }
        guard let format = OutputFormat(rawValue: text) else {
            let expected = OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")
            log.add(ConfigurationError(
                keyPath: object.path(for: "format"), message: "expected one of \(expected) (got \"\(text)\")"))
            return .statsig
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
            try object.allowOnly(["identity", "userId"])
            mapping.identity = try object.string("identity") ?? mapping.identity
            mapping.heapUserId = try object.string("userId")
            if mapping.heapUserId != nil, object.values["identity"] != nil {
                throw ConfigurationError(
                    keyPath: object.path,
                    message: "Heap takes identity or user_id, never both: set \"identity\" or \"userId\", not both")
            }
        case .statsig:
            log.add(ConfigurationError(
                keyPath: object.path,
                message: "only destinations that write the segment or heap format map identifiers "
                    + "(this one writes statsig)"))
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
                log.add(ConfigurationError(keyPath: path, message: "unterminated ${ (write $${ for a literal ${)"))
                return ""
            }
            let name = String(text[nameStart..<close])
            guard Self.isVariableName(name) else {
                log.add(ConfigurationError(
                    keyPath: path,
                    message: "invalid environment variable name in ${...} "
                        + "(letters, digits and _, not starting with a digit)"))
                return ""
            }
            guard let value = environment[name] else {
                log.add(ConfigurationError(keyPath: path, message: "environment variable \(name) is not set"))
                return ""
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
///
/// An accessor that finds a value of the wrong type records the problem in the decoder's log and answers nil (the
/// key keeps its default), so decoding goes on and every problem of the file is reported.
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

    /// Records every unknown key, in sorted order so the report is the same on every run.
    func allowOnly(_ allowed: [String]) throws(ConfigurationError) {
        for key in values.keys.sorted() where !allowed.contains(key) {
            decoder.log.add(ConfigurationError(
                keyPath: path(for: key),
                message: "unknown key (expected one of \(allowed.joined(separator: ", ")))"))
        }
    }

    func isNull(_ key: String) -> Bool { values[key] is NSNull }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = values[key] else { return nil }
        guard let text = value as? String else { return mismatch(key, "a string", value) }
        return try decoder.substitute(text, path: path(for: key))
    }

    /// The string at `key`; a missing one is recorded and read as empty (which validation would reject anyway).
    func required(_ key: String, for type: String) throws(ConfigurationError) -> String {
        if values[key] == nil {
            decoder.log.add(ConfigurationError(keyPath: path(for: key), message: "required for a \(type) destination"))
        }
        return try string(key) ?? ""
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = values[key] else { return nil }
        guard let flag = value as? Bool else { return mismatch(key, "a boolean", value) }
        return flag
    }

    func int(_ key: String) throws(ConfigurationError) -> Int? {
        guard let value = values[key] else { return nil }
        guard let number = value as? ConfigurationNumber, let integer = number.integer else {
            if let number = value as? ConfigurationNumber, number.double.map({ $0.rounded() == $0 }) ?? true {
                // Integral but beyond Int (e.g. 1e30): say so rather than "not an integer".
                decoder.log.add(ConfigurationError(keyPath: path(for: key),
                                                   message: "expected an integer (got \(number.text), beyond the 64-bit range)"))
                return nil
            }
            return mismatch(key, "an integer", value)
        }
        return integer
    }

    func double(_ key: String) throws(ConfigurationError) -> Double? {
        guard let value = values[key] else { return nil }
        guard let number = value as? ConfigurationNumber else { return mismatch(key, "a number", value) }
        guard let double = number.double else {
            decoder.log.add(ConfigurationError(keyPath: path(for: key),
                                               message: "expected a number (got \(number.text), beyond the range of a double)"))
            return nil
        }
        return double
    }

    func object(_ key: String) throws(ConfigurationError) -> JSONObject? {
        guard let value = values[key] else { return nil }
        do {
            return try JSONObject(value, path: path(for: key), decoder: decoder)
        } catch {
            decoder.log.add(error)
            return nil
        }
    }

    func array(_ key: String) throws(ConfigurationError) -> [Any]? {
        guard let value = values[key] else { return nil }
        guard let array = value as? [Any] else { return mismatch(key, "an array", value) }
        return array
    }

    func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let array = try array(key) else { return nil }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            let elementPath = "\(path(for: key))[\(index)]"
            guard let text = element as? String else {
                decoder.log.add(ConfigurationError(
                    keyPath: elementPath, message: "expected a string (got \(Self.describe(element)))"))
                continue
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

    /// Records a value of the wrong type and answers nil.
    private func mismatch<T>(_ key: String, _ expected: String, _ value: Any) -> T? {
        // Only the kind of value is quoted, never the value: it may be a misplaced secret.
        decoder.log.add(ConfigurationError(keyPath: path(for: key), message: "expected \(expected) (got \(Self.describe(value)))"))
        return nil
    }

    static func describe(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if value is Bool { return "a boolean" }
        if value is ConfigurationNumber { return "a number" }
        if value is String { return "a string" }
        if value is [Any] { return "an array" }
        if value is [String: Any] { return "an object" }
        return "an unsupported value"
    }
}
