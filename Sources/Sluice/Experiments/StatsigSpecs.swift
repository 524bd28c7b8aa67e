import Foundation

/// What Sluice needs from a Statsig project's config specs (the server SDKs' `download_config_specs`
/// response): which dynamic configs are experiments, and the group name of each experiment rule.
///
/// Statsig SDKs log `getExperiment` as `statsig::config_exposure` with `metadata.config` and `metadata.ruleID`;
/// only the project's specs say that the config is an experiment (`entity: "experiment"`) and which group the
/// rule is (`rules[].id` -> `rules[].groupName`, set only on experiment-group rules, never on targeting,
/// prestart or layer-assignment rules). Both response versions are read:
/// - v1 (`/v1/download_config_specs`): `dynamic_configs` and `layer_configs` are arrays of specs with a `name`;
/// - v2 (`/v2/download_config_specs`, Statsig's server-core SDKs): they are objects keyed by the config name.
/// Everything else in the response (conditions, salts, values) is ignored.
public struct StatsigSpecs: Sendable, Equatable {
    /// Experiment name -> (rule ID -> group name, for experiment-group rules only).
    public var experiments: [String: [String: String]]
    /// Layer names (from `layer_configs`), for reports.
    public var layers: Set<String>
    /// The response's `time` (when the specs were last changed), if it had one.
    public var time: Int64?

    /// Creates specs directly (tests, embeddings that hold specs already).
    public init(experiments: [String: [String: String]] = [:], layers: Set<String> = [], time: Int64? = nil) {
        self.experiments = experiments
        self.layers = layers
        self.time = time
    }

    /// Whether `config` is an experiment.
    public func isExperiment(_ config: String) -> Bool { experiments[config] != nil }

    /// The group name of `ruleID` in `experiment`, when that rule is an experiment group.
    public func groupName(experiment: String, ruleID: String) -> String? { experiments[experiment]?[ruleID] }

    /// Why a specs document could not be read.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// What is wrong, for a person.
        public let message: String
        /// The message.
        public var description: String { message }
    }

    /// Reads a `download_config_specs` response (v1 or v2).
    public static func parse(_ data: Data) throws(ParseError) -> StatsigSpecs {
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ParseError(message: "config specs are not valid JSON")
        }
        guard let root = document as? [String: Any] else {
            throw ParseError(message: "config specs must be a JSON object (a download_config_specs response)")
        }
        guard root["dynamic_configs"] != nil || root["layer_configs"] != nil else {
            throw ParseError(message: "config specs have neither \"dynamic_configs\" nor \"layer_configs\" (is this a download_config_specs response?)")
        }
        var specs = StatsigSpecs()
        specs.time = (root["time"] as? NSNumber).map { $0.int64Value }
        for (name, spec) in try entries(root["dynamic_configs"], "dynamic_configs") {
            guard (spec["entity"] as? String) == "experiment" else { continue }
            var groups: [String: String] = [:]
            for rule in (spec["rules"] as? [Any] ?? []).compactMap({ $0 as? [String: Any] }) {
                // `groupName` marks an experiment group; older responses also say `isExperimentGroup`.
                if let id = rule["id"] as? String, let group = rule["groupName"] as? String, !group.isEmpty,
                   (rule["isExperimentGroup"] as? Bool) ?? true {
                    groups[id] = group
                }
            }
            specs.experiments[name] = groups
        }
        for (name, _) in try entries(root["layer_configs"], "layer_configs") { specs.layers.insert(name) }
        return specs
    }

    /// The specs of a v1 array (named by their `name`) or a v2 object (named by their key).
    private static func entries(_ value: Any?, _ key: String) throws(ParseError) -> [(String, [String: Any])] {
        switch value {
        case nil, is NSNull:
            return []
        case let array as [Any]:
            return array.compactMap { element in
                guard let spec = element as? [String: Any], let name = spec["name"] as? String else { return nil }
                return (name, spec)
            }
        case let object as [String: Any]:
            return object.compactMap { name, element in
                guard let spec = element as? [String: Any] else { return nil }
                return ((spec["name"] as? String) ?? name, spec)
            }
        default:
            throw ParseError(message: "config specs: \"\(key)\" must be an array (v1) or an object (v2)")
        }
    }
}
