/// Replaying dead letters for one destination (``PipelineOptions/replayDestination``, `--replay-destination`):
/// the named destination takes the replayed events; every other destination filters them with a reason, so a
/// destination that was fine during the outage does not receive its events twice.
extension Pipeline {
    /// Marks every destination but `destination` as taking nothing in this run; throws when no destination has
    /// that name (a typo must not turn a replay into a run that delivers nothing).
    static func restrictToReplayDestination(_ destination: String?, _ parts: inout [DestinationBranch.Parts]) throws {
        guard let destination else { return }
        guard parts.contains(where: { $0.name == destination }) else {
            let names = parts.map { "\"\($0.name)\"" }.joined(separator: ", ")
            throw PipelineError("--replay-destination: no destination is named \"\(destination)\" (destinations: \(names))")
        }
        for index in parts.indices where parts[index].name != destination {
            parts[index].selection.rejectsAll = .replayForOtherDestination
        }
    }
}
