import Synchronization

/// The experiment knowledge the decoder consults for every config and layer exposure: the current specs
/// (swapped whole when a refresh succeeds) and the configured name patterns.
///
/// Decoding runs on several tasks at once (the input stream and concurrent `ingest` calls), so the specs sit
/// behind a lock; a reader takes a reference to the immutable snapshot and looks names up outside it.
final class ExperimentCatalog: Sendable {
    private let current: Mutex<StatsigSpecs?>
    let patterns: EventNamePatternSet

    init(specs: StatsigSpecs?, patterns: [String]) {
        current = Mutex(specs)
        self.patterns = EventNamePatternSet(patterns.map(EventNamePattern.init))
    }

    /// The specs in use, if any were loaded.
    var specs: StatsigSpecs? { current.withLock { $0 } }

    /// Replaces the specs (a successful refresh).
    func replace(_ specs: StatsigSpecs) { current.withLock { $0 = specs } }
}

/// What the catalog says about one exposure.
struct ExperimentLookup {
    /// The config is an experiment: a config exposure is renamed to `statsig::experiment_exposure`.
    var isExperiment: Bool
    /// The group of the exposure's rule, when the rule is an experiment group.
    var groupName: String? = nil
}

extension ExperimentCatalog {
    /// Looks up a config exposure (`config`, `ruleID`) or a layer exposure (`allocatedExperiment`, `ruleID`).
    func lookup(experiment name: String, ruleID: String?, specs: StatsigSpecs?) -> ExperimentLookup {
        if let groups = specs?.experiments[name] {
            return ExperimentLookup(isExperiment: true, groupName: ruleID.flatMap { groups[$0] })
        }
        guard !patterns.isEmpty else { return ExperimentLookup(isExperiment: false) }
        var name = name
        let matched = name.withUTF8 { patterns.matchesAny(UnsafeRawBufferPointer($0)) }
        return ExperimentLookup(isExperiment: matched)
    }
}
