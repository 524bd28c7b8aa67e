import Synchronization

/// Something the operator of a run should hear about as it happens, not only in the final ``Summary``: the
/// command line prints each on standard error. Each is posted once per run (per destination or output), so a
/// handler never floods its log.
public enum PipelineNotice: Sendable, Equatable, CustomStringConvertible {
    /// `destination` dead-lettered events for a reason it had not given before in this run. `reasonClass` is the
    /// key the events are counted under in ``Summary/DestinationSummary/deadLetteredByReason``; `reason` is the
    /// first full reason of that class (secrets masked).
    case deadLetterReason(destination: String, reasonClass: String, reason: String)
    /// Writing the dead-letter file failed (the first time; later failures are only counted in
    /// ``Summary/deadLetterWriteFailures``). `error` is the system's error text.
    case deadLetterWriteFailed(path: String, error: String)
    /// A stdout or file destination could not write (the first time for that output); its events are
    /// dead-lettered and counted in ``Summary/DestinationSummary/writeFailures``.
    case outputWriteFailed(output: String, error: String)
    /// The reader of `output` went away (`EPIPE`, as in `sluice | head -1`): the pipeline stops reading input and
    /// dead-letters what that output can no longer take; other destinations drain within the drain timeout.
    case outputClosed(output: String)
    /// What a spool found on open (a torn tail cut off, a missing cursor), a resumed or restarted input file, a
    /// spool that could not take a body. Shown even with `--quiet`: it says what happened to kept data.
    case spool(String)
    /// Shared de-duplication (`dedupe.shared`) could not reach or use its Redis server: events are de-duplicated
    /// per instance until it answers again (counted as unchecked), or it answered again.
    case sharedDedupe(String)

    /// One line for a person, without the program name.
    public var description: String {
        switch self {
        case .deadLetterReason(let destination, _, let reason):
            return "\(destination): dead-lettering events: \(reason)"
        case .deadLetterWriteFailed(let path, let error):
            return "dead-letter file \(path): write failed: \(error); records that could not be written are counted (deadLetterWriteFailures)"
        case .outputWriteFailed(let output, let error):
            return "\(output): write failed: \(error); its events are dead-lettered"
        case .outputClosed(let output):
            return "\(output): closed by its reader (broken pipe); stopped reading input, events not written are dead-lettered"
        case .spool(let message), .sharedDedupe(let message):
            return message
        }
    }

    /// True for what a spool reports.
    public var isSpool: Bool {
        if case .spool = self { return true }
        return false
    }

    /// True for the notices that mean Sluice could not write somewhere (exit status 3), false for dead-letter
    /// reasons, which are information about destinations.
    public var isWriteFailure: Bool {
        switch self {
        case .deadLetterReason, .spool, .sharedDedupe: return false
        case .deadLetterWriteFailed, .outputWriteFailed, .outputClosed: return true
        }
    }
}

/// Posts ``PipelineNotice``s to the embedder's handler, each key once per run, and lets the pipeline react to
/// them itself (an output whose reader is gone stops the input).
final class Notices: Sendable {
    private let handler: (@Sendable (PipelineNotice) -> Void)?
    private let posted = Mutex<Set<String>>([])
    private let reaction = Mutex<(@Sendable (PipelineNotice) -> Void)?>(nil)

    init(handler: (@Sendable (PipelineNotice) -> Void)? = nil) {
        self.handler = handler
    }

    /// Sets what the pipeline itself does when a notice is posted (called before the handler).
    func react(_ body: @escaping @Sendable (PipelineNotice) -> Void) {
        reaction.withLock { $0 = body }
    }

    /// Posts `notice` unless one with `key` was posted before; returns whether it was posted.
    @discardableResult
    func post(_ notice: PipelineNotice, once key: String) -> Bool {
        guard posted.withLock({ $0.insert(key).inserted }) else { return false }
        reaction.withLock { $0 }?(notice)
        handler?(notice)
        return true
    }
}
