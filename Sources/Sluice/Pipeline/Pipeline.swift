import Foundation
import Synchronization

/// Options of a pipeline run that are not part of the configuration file: where input comes from, where
/// dead letters and reports go, and test hooks.
public struct PipelineOptions: Sendable {
    /// The byte stream to read; `.none` when events arrive only through ``Pipeline/ingest(_:)``.
    public var input: InputSource
    /// Append invalid input and undeliverable events to this NDJSON file (secrets redacted).
    public var deadLetterPath: String?
    /// HTTP destinations write the requests they would send to standard output instead of sending them.
    public var dryRun: Bool
    /// Called for every invalid line or event (the CLI prints a rate-limited report to stderr).
    public var onInvalid: (@Sendable (InvalidInput) -> Void)?
    /// The file descriptor stdout destinations and dry-run requests write to.
    public var standardOutput: Int32
    /// Disables de-duplication regardless of the configuration (`--no-dedupe`).
    public var disableDedupe: Bool
    /// Destinations supplied in code, keyed by the name a configuration entry of type `custom` would use;
    /// they run with the same batching, backpressure and accounting as the built-in ones.
    public var customDestinations: [CustomDestinationRegistration]
    /// The transport HTTP destinations use (a real `URLSession` by default; tests may pass their own).
    public var httpTransport: (any HTTPTransport)?
    /// Replaying dead letters for this destination only (`--replay-destination`): dead-letter records of other
    /// destinations are filtered, and the other destinations filter every event.
    public var replayDestination: String? = nil
    /// Called as things happen that an operator should hear about: a new dead-letter reason per destination,
    /// a failed dead-letter, stdout or file write, an output whose reader went away. Each at most once per run
    /// (per destination or output), and what a spool found on open or could not do; the command line prints
    /// them on standard error.
    public var onNotice: (@Sendable (PipelineNotice) -> Void)?
    /// Told as the read blocks of ``input`` settle (each block is one unit, numbered from 0); nil (the default)
    /// tracks nothing and costs nothing. See ``AcknowledgementReceiver``.
    var inputAcknowledgements: (any AcknowledgementReceiver)?
    /// What misses the drain deadline becomes: dead letters (default), or, with a spool, events left unsettled
    /// for the next run.
    var drainDeadlinePolicy: DrainDeadlinePolicy = .deadLetter

    /// Creates options; every field has a default.
    public init(input: InputSource = .none, deadLetterPath: String? = nil, dryRun: Bool = false,
                onInvalid: (@Sendable (InvalidInput) -> Void)? = nil, standardOutput: Int32 = 1,
                disableDedupe: Bool = false, customDestinations: [CustomDestinationRegistration] = [],
                httpTransport: (any HTTPTransport)? = nil) {
        self.input = input
        self.deadLetterPath = deadLetterPath
        self.dryRun = dryRun
        self.onInvalid = onInvalid
        self.standardOutput = standardOutput
        self.disableDedupe = disableDedupe
        self.customDestinations = customDestinations
        self.httpTransport = httpTransport
    }
}

/// What one ``Pipeline/ingest(_:)`` call did with a request body.
public struct IngestResult: Sendable, Equatable {
    /// Events decoded and handed to the pipeline.
    public var accepted: Int
    /// Lines or events that could not be decoded, with reasons.
    public var invalid: [InvalidInput]
    /// True when the pipeline took nothing: it was already finishing, or (with a spool) the body could not be
    /// made durable. ``refusalReason`` says which.
    public var refused: Bool
    /// Resolves once every destination has settled the body's events (delivered, filtered, dead-lettered,
    /// dropped); `try await result.settlement.wait()` before answering a client who must know it was delivered.
    /// Already resolved for a refused body or one without valid events.
    public var settlement: IngestSettlement
    /// Why a refused body was refused, for a person: "shutting down", or "spool cannot take the body" (the
    /// spool's own error went to ``PipelineOptions/onNotice``). Nil when the body was taken.
    public var refusalReason: String? = nil
}

/// Errors that stop a pipeline from starting.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for a person.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// The Sluice engine: ingest -> dedupe -> filter -> (per destination) map identifiers -> batch -> send.
///
/// Build it from a ``PipelineConfiguration``, call ``run()`` (shaped like a long-running service: it returns
/// when the input ends, or drains and returns when its task is cancelled), and feed it with its input source or
/// ``ingest(_:)``. Every stage is an actor connected to the next by a bounded channel of event chunks, so a slow
/// destination slows the producer and memory stays bounded. End of input, ``finish()``, ``shutdown(gracePeriod:)``
/// and cancellation all drain every stage in order and flush every batch; whatever cannot be delivered before
/// the drain deadline is dead-lettered, so every event is accounted for in the ``Summary``.
public final class Pipeline: Sendable {
    /// The configuration the pipeline was built from.
    public let configuration: PipelineConfiguration
    let options: PipelineOptions
    let accounting: Accounting
    let shutdownState = ShutdownState()
    let dedupeStats = DedupeStats()
    let gate = IngestGate()
    let ingestQueue: BoundedChannel<EventChunk>
    let blockQueue = BoundedChannel<[UInt8]>(capacity: 4)
    let ingestor: Ingestor
    let branches: [DestinationBranch]
    let deadLetters: DeadLetterWriter?
    let notices: Notices
    let started = Atomic<Bool>(false)
    let startTime = Mutex<UInt64?>(nil)
    let inputError = Mutex<String?>(nil)
    let latency = LatencyHistogram()
    let progress = RunProgress()
    /// Loads and refreshes the Statsig config specs that name experiment exposures (nil: none configured).
    let specsLoader: StatsigSpecsLoader?
    /// Settlement of ``ingest(_:)`` bodies, one unit per body.
    let ingestTracker: SettlementTracker
    /// The disk spool and the input that goes through it, when one is configured.
    let spooled: SpooledSource?
    /// Standard output, as the stdout and dry-run destinations write it.
    let standardOutput: FileDescriptorSink
    /// With a spool and dedupe on: the dedupe keys kept in the spool, so dedupe survives a restart.
    let spooledDedupeKeys: SpooledDedupeKeys?
    /// The Redis Streams source, when ``PipelineOptions/input`` is one.
    let redisSource: RedisStreamSource?
    /// The Redis server of `dedupe.shared`, and what shared de-duplication counted.
    let sharedDedupeEndpoint: RedisEndpoint?
    let sharedDedupeCounters = SharedDedupeCounters()

    /// Builds the stages for `configuration`. Throws when the configuration is invalid or a destination cannot
    /// be set up (an unwritable file, a missing custom destination).
    public init(configuration: PipelineConfiguration, options: PipelineOptions = PipelineOptions()) throws {
        // A service may deliver only to destinations written in code; then the configuration needs none.
        let problems = configuration.validationErrors().filter { options.customDestinations.isEmpty || $0.keyPath != "destinations" }
        if let problem = problems.first { throw PipelineError(problem.description) }
        self.configuration = configuration
        self.options = options
        let redactor = Redactor(secrets: configuration.secrets)
        let notices = Notices(handler: options.onNotice)
        self.notices = notices
        let deadLetters = try options.deadLetterPath.map { try DeadLetterWriter(path: $0, redactor: redactor, notices: notices) }
        self.deadLetters = deadLetters

        // Destinations first: their names are the accounting's columns.
        let factory = DestinationFactory(options: options, redactor: redactor, notices: notices)
        standardOutput = factory.standardOutput
        // The command line's "no destinations means stdout" rule lives in ConfigurationLoader and in
        // PipelineConfiguration's defaults; an explicitly empty list with nothing supplied in code is a mistake.
        if configuration.destinations.isEmpty && options.customDestinations.isEmpty {
            throw PipelineError("no destinations: configure at least one, or register one in PipelineOptions.customDestinations")
        }
        var parts = try configuration.destinations.map(factory.parts(for:)) + options.customDestinations.map(factory.parts(for:))
        try Self.restrictToReplayDestination(options.replayDestination, &parts)
        let names = parts.map(\.name)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw PipelineError("destination name \"\(repeated)\" is used twice")
        }
        let accounting = Accounting(destinations: names)
        self.accounting = accounting
        let capacity = max(1, configuration.input.queueCapacity)
        redisSource = RedisStreamSource.make(for: options.input)
        sharedDedupeEndpoint = try Self.sharedDedupeEndpoint(configuration)
        if redisSource != nil, configuration.spool != nil {
            // Redis keeps each entry pending until it is settled, which is what a spool would add.
            throw PipelineError("a Redis Streams input is durable on its own (entries stay pending until every destination "
                                + "settled them): drop --spool / \"spool\" for it")
        }
        // With a spool, what misses the drain deadline stays in the spool for the next run; an entry of a Redis
        // stream not settled by then stays pending in Redis (delivered again). Neither is dead-lettered.
        let deadlinePolicy: DrainDeadlinePolicy = configuration.spool == nil && redisSource == nil
            ? options.drainDeadlinePolicy : .leaveUnsettled
        // A record is the unit a restart replays whole. Half the smallest batch (and at most a chunk): a batch then
        // spans at most three records, so what a crash re-sends stays close to the batches that were in flight.
        let smallestBatch = parts.map(\.batch.maxEvents).min() ?? configuration.input.chunkSize
        let recordLines = max(1, min(configuration.input.chunkSize, smallestBatch / 2))
        let spooled = try configuration.spool.map {
            try SpooledSource.open($0, destinations: names, recordLines: recordLines, onNotice: options.spoolNotices)
        }
        self.spooled = spooled
        branches = parts.enumerated().map { [shutdownState, latency] index, part in
            DestinationBranch(parts: part, index: index, accounting: accounting, deadLetters: deadLetters,
                              shutdown: shutdownState, latency: latency, queueCapacity: capacity,
                              deadlinePolicy: deadlinePolicy, redactor: redactor, notices: notices,
                              commit: Self.cursorCommit(spooled, destination: index))
        }
        spooledDedupeKeys = try Self.spooledDedupeKeys(spooled, configuration, options)
        ingestTracker = SettlementTracker(destinations: names, receiver: nil)

        ingestQueue = BoundedChannel(capacity: capacity)
        var decoderOptions = DecoderOptions(segmentAnonymousIdAs: configuration.segmentInbound.anonymousIdAs,
                                            segmentEvents: configuration.segmentInbound.events)
        decoderOptions.timestampUnit = configuration.input.timestampUnit
        decoderOptions.replayDestination = options.replayDestination
        (decoderOptions.experiments, specsLoader) = try Self.experimentCatalog(configuration.experimentNaming, options)
        ingestor = Ingestor(options: decoderOptions, chunkSize: configuration.input.chunkSize,
                            maxLineBytes: configuration.input.maxLineBytes, output: ingestQueue, accounting: accounting,
                            invalidSink: InvalidSink(deadLetters: deadLetters, report: options.onInvalid))
        // An output whose reader is gone (`sluice | head -1`) will never take another event: stop reading input,
        // and let the other destinations drain within the drain timeout. Weak: the pipeline owns the notices.
        notices.react { [weak self] notice in
            guard case .outputClosed = notice, let self else { return }
            self.shutdown(gracePeriod: .milliseconds(Int(self.configuration.drainTimeoutSeconds * 1000)))
        }
    }

    /// Runs until the input ends (or ``finish()``), then drains and returns the summary. Cancelling the task
    /// that runs it starts a graceful drain, bounded by `drainTimeoutSeconds`.
    ///
    /// The stages run in a task that cancellation does not reach: a cancelled stage could not flush, and
    /// draining is the point. `run()` still awaits that task before returning, so nothing outlives the call.
    public func run() async throws -> Summary {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else {
            throw PipelineError("a pipeline runs once; build a new one to run again")
        }
        try await specsLoader?.start()
        let stages = Task { await self.runStages() }
        return await withTaskCancellationHandler {
            await stages.value
        } onCancel: {
            self.shutdown(gracePeriod: .seconds(self.configuration.drainTimeoutSeconds))
        }
    }

    /// Decodes a request body (a Statsig event, `log_event` body, webhook batch, Segment message or batch, or
    /// NDJSON of any of these) and hands its events to the pipeline, suspending while the pipeline is full.
    ///
    /// Returns once the events are accepted (queued in memory). To wait until every destination has settled
    /// them, await ``IngestResult/settlement``: `try await pipeline.ingest(body).settlement.wait()`.
    public func ingest(_ body: [UInt8]) async -> IngestResult {
        await ingestBody(body, context: nil)
    }

    /// The one ingest path (``ingest(_:)-([UInt8])`` and ``ingest(_:context:)``): refuse while finishing, wait for
    /// the first specs load, decode, and track the body as one unit so its settlement can be awaited.
    func ingestBody(_ body: [UInt8], context: IngestContext?) async -> IngestResult {
        guard gate.enter() else {
            return IngestResult(accepted: 0, invalid: [], refused: true,
                                settlement: IngestSettlement(resolved: IngestOutcome(destinations: [:])),
                                refusalReason: "shutting down")
        }
        defer { gate.leave() }
        if let specsLoader { await specsLoader.waitUntilLoaded() }
        if let spooled {
            do {
                return try await spooled.ingest(body, context: context, ingestor: ingestor)
            } catch {
                // Not durable, so not accepted: the caller must not acknowledge it (a relay answers 503).
                options.onNotice?(.spool("\(error)"))
                return IngestResult(accepted: 0, invalid: [], refused: true,
                                    settlement: IngestSettlement(resolved: IngestOutcome(destinations: [:])),
                                    refusalReason: "spool cannot take the body")
            }
        }
        let settlement = IngestSettlement()
        let (accepted, invalid) = await ingestor.ingest(body, context: context) { [ingestTracker] events in
            ingestTracker.begin(events: events, settlement: settlement)
        }
        return IngestResult(accepted: accepted, invalid: invalid, refused: false, settlement: settlement)
    }

    /// Hands one unit of a tracked source (a spool record, a batch of Redis entries: any input shape, like an
    /// `ingest` body) to the pipeline. `unit` is called once with the unit's event count before any chunk is
    /// sent, and returns its tag, e.g. `{ tracker.begin(sequence: n, events: $0, alreadySettled: done) }`.
    /// Returns nil, without calling `unit`, when the pipeline is finishing and takes nothing (like a refused
    /// `ingest`); the source keeps the unit for the next run.
    func ingest(_ body: [UInt8], unit: (_ events: Int) -> UnitTag) async -> (accepted: Int, invalid: [InvalidInput])? {
        guard gate.enter() else { return nil }
        defer { gate.leave() }
        if let specsLoader { await specsLoader.waitUntilLoaded() }
        return await ingestor.ingest(body, unit: unit)
    }

    /// A tracker for a source of units (a spool, a Redis stream): begin units on it, tag their chunks, and
    /// `receiver` is told as each settles. Destination indices are positions in ``destinationNames``.
    func makeSettlementTracker(receiver: (any AcknowledgementReceiver)?, firstSequence: UInt64 = 0) -> SettlementTracker {
        SettlementTracker(destinations: accounting.destinationNames, receiver: receiver, firstSequence: firstSequence)
    }

    /// The destinations' names in pipeline order (configured, then custom): their indices in settlement trackers.
    var destinationNames: [String] { accounting.destinationNames }

    /// Decodes a request body given as a string; see ``ingest(_:)-([UInt8])``.
    public func ingest(_ body: String) async -> IngestResult {
        await ingest(Array(body.utf8))
    }

    /// No more input: stop reading, let running `ingest` calls finish, drain every stage. ``run()`` returns
    /// once everything is delivered or dead-lettered.
    public func finish() {
        shutdownState.beginDrain()
        gate.close()
        // A byte source stops reading and finishes the block queue itself, after handing over the block it has
        // read: finishing it here would refuse that block, and bytes already read would be in no count.
        if case .none = options.input { blockQueue.finish() }
        spooled?.spool.stopWaitingForSpace()
    }

    /// Like ``finish()``, but gives up on delivery after `gracePeriod`: batches still queued or retrying then
    /// are dead-lettered (never silently dropped).
    public func shutdown(gracePeriod: Duration) {
        finish()
        let state = shutdownState
        Task {
            try? await Task.sleep(for: gracePeriod)
            state.abandon()
        }
    }

    // MARK: - Running the stages

    private func runStages() async -> Summary {
        startTime.withLock { $0 = Clock.nanoseconds() }
        let dedupeEnabled = configuration.dedupe.enabled && !options.disableDedupe
        let filterInput = dedupeEnabled ? BoundedChannel<EventChunk>(capacity: max(1, configuration.input.queueCapacity)) : ingestQueue
        // With a spool, an input file continues where the spool left off (or starts over, saying why).
        var inputStart: UInt64 = 0
        let shouldStop: @Sendable () -> Bool = { [shutdownState] in shutdownState.isDraining }
        let onError: @Sendable (String) -> Void = { message in self.inputError.withLock { $0 = message } }
        if let spooled, case .file(let path) = options.input {
            switch spooled.openInputFile(path, onNotice: options.spoolNotices) {
            case .success(let opened):
                inputStart = opened.offset
                ByteSource.start(owning: opened.descriptor, into: blockQueue, shouldStop: shouldStop, onError: onError)
            case .failure(let error):
                onError(error.message)
                blockQueue.finish()
            }
        } else {
            ByteSource.start(options.input, into: blockQueue, shouldStop: shouldStop, onError: onError)
        }
        redisSource?.startAcknowledging(abandoned: { [shutdownState] in shutdownState.isAbandoned })
        let specsRefresh = Task { [specsLoader] in await specsLoader?.refreshLoop() }
        defer { specsRefresh.cancel() }
        let readerWatch = Task { [standardOutput, shutdownState] in
            await Self.watchReader(of: standardOutput, until: { shutdownState.isDraining })
        }
        defer { readerWatch.cancel() }
        let start = inputStart
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runInput(start: start) }
            if dedupeEnabled {
                let deduplicate = makeDeduplicationStage()
                group.addTask { await deduplicate(self.ingestQueue, filterInput) }
            }
            let filter = Filter(selection: configuration.filter, accounting: accounting)
            let fanOut = FanOut(branches: branches.map { FanOut.Branch(name: $0.name, index: $0.index, queue: $0.queue, overflow: $0.overflow) },
                                accounting: accounting)
            group.addTask { await filter.run(input: filterInput, fanOut: fanOut) }
            for branch in branches {
                branch.start(in: &group)
            }
        }
        await redisSource?.finishAcknowledging(timeoutSeconds: configuration.drainTimeoutSeconds)
        deadLetters?.close()
        spooledDedupeKeys?.close()
        spooled?.close()
        progress.markFinished()
        return summary()
    }

    /// Reads the input source (if any) and waits for `ingest` callers, then ends the first queue.
    private func runInput(start: UInt64) async {
        if let spooled {
            await runSpooledInput(spooled, start: start)
        } else if case .none = options.input {
            // Input comes only from ingest(): wait for finish() or shutdown.
        } else if let redisSource {
            await readRedis(redisSource)
            gate.close()
        } else {
            let tracker = options.inputAcknowledgements.map { makeSettlementTracker(receiver: $0) }
            await ingestor.run(blocks: blockQueue, tracker: tracker, shouldStop: { [shutdownState] in shutdownState.isDraining })
            gate.close()
        }
        await gate.waitUntilClosedAndIdle()
        progress.markInputClosed()
        ingestQueue.finish()
    }

    /// The account so far (complete once ``run()`` has returned).
    public func summary() -> Summary {
        let counts = accounting.snapshot
        let dedupe = dedupeStats.snapshot
        let start = startTime.withLock { $0 } ?? Clock.nanoseconds()
        var destinations: [String: Summary.DestinationSummary] = [:]
        for (name, d) in counts.destinations {
            destinations[name] = Summary.DestinationSummary(
                delivered: d.delivered, filtered: d.filtered, deadLettered: d.deadLettered, dropped: d.dropped,
                filteredByReason: Dictionary(d.filteredByReason.map { ($0.key.description, $0.value) } + d.filteredByNamedReason.map { ($0.key, $0.value) }, uniquingKeysWith: +),
                requests: d.requests, retries: d.retries, failedRequests: d.failedRequests,
                deadLetteredByReason: d.deadLetteredByReason, writeFailures: d.writeFailures,
                alreadySettled: d.alreadySettled, leftUnsettled: d.leftUnsettled)
        }
        var summary = Summary(
            ingested: counts.ingested, invalid: counts.invalid, duplicates: counts.duplicates, filtered: counts.filtered,
            filteredByReason: Dictionary(uniqueKeysWithValues: counts.filteredByReason.map { ($0.key.description, $0.value) }),
            destinations: destinations,
            elapsedSeconds: Double(Clock.nanoseconds() &- start) / 1e9)
        summary.capacityEvictions = dedupe.capacityEvictions
        summary.windowEvictions = dedupe.windowEvictions
        summary.dryRun = options.dryRun
        for branch in branches { summary.destinations[branch.name]?.counters = branch.counters.snapshot }
        summary.deadLetterWriteFailures = deadLetters?.failures ?? 0
        summary.incompleteLines = counts.incomplete
        if case .remote = specsLoader?.source { summary.statsigSpecs = specsLoader?.status }
        if let spooled { addSpoolFigures(to: &summary, spooled) }
        if let p50 = latency.quantile(0.5), let p99 = latency.quantile(0.99) {
            summary.latency = Summary.LatencySummary(p50: p50, p99: p99, max: latency.max)
        }
        return summary
    }

    /// An error reading the input source, if one happened (the run still drains what was read).
    public var inputFailure: String? { inputError.withLock { $0 } }
}

