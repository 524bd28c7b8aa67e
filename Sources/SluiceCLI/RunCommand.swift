#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import Sluice
import Synchronization

/// The main job: read events, run the pipeline, print the summary, exit with the contract's status.
enum RunCommand {
    static func run(_ options: RunOptions) async -> Int32 {
        // Output files are checked before anything is read, so a bad path fails at once with its real cause.
        if let problem = OutputPathCheck.problem(options) {
            StandardError.write(problem)
            return 2
        }
        var configuration: PipelineConfiguration
        do {
            if let path = options.configPath {
                configuration = try ConfigurationLoader.load(contentsOfFile: path, defaultOutputFormat: options.format ?? .statsig)
            } else {
                configuration = PipelineConfiguration(destinations: DestinationConfiguration.defaultDestinations(format: options.format ?? .statsig))
            }
        } catch {
            StandardError.write("sluice: \(options.configPath ?? "configuration"): \(error)")
            return 2
        }
        if let drain = options.drainTimeout { configuration.drainTimeoutSeconds = drain }
        if let spool = options.spoolPath {
            // --spool DIR names the directory; the configuration's other spool settings still apply.
            var settings = configuration.spool ?? SpoolConfiguration(path: spool)
            settings.path = spool
            configuration.spool = settings
        }

        let reporter = InvalidReporter()
        if options.serve == nil { MallocTuning.keepBuffersForReuse() }  // `serve` sets its own (RunListeners)
        var pipelineOptions = PipelineOptions()
        if options.serve != nil {
            pipelineOptions.input = .none  // bodies arrive over HTTP
        } else if let redisURL = options.inputPath.flatMap({ $0.lowercased().hasPrefix("redis") ? $0 : nil })
                    ?? (options.inputPath == nil ? configuration.input.redis?.values["url"] : nil) {
            do {
                var source = try RedisSourceConfiguration.resolve(url: redisURL, settings: configuration.input.redis)
                source.exitWhenIdleSeconds = options.exitWhenIdle
                pipelineOptions.input = .redisStream(source)
            } catch {
                StandardError.write("sluice: --input: \(error)")
                return 2
            }
        } else if options.exitWhenIdle != nil {
            StandardError.write("sluice: --exit-when-idle needs a Redis input (--input redis://...)")
            return 2
        } else if let input = options.inputPath, input != "-" {
            guard FileManager.default.isReadableFile(atPath: input) else {
                StandardError.write("sluice: --input: cannot read \(input)")
                return 2
            }
            pipelineOptions.input = .file(input)
        } else {
            pipelineOptions.input = .fileDescriptor(0)
        }
        pipelineOptions.deadLetterPath = options.deadLetterPath
        pipelineOptions.dryRun = options.dryRun
        pipelineOptions.replayDestination = options.replayDestination
        pipelineOptions.disableDedupe = options.noDedupe
        if !options.quiet { pipelineOptions.onInvalid = { reporter.report($0) } }
        let notices = NoticeReporter(quiet: options.quiet)
        pipelineOptions.onNotice = { notices.report($0) }

        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(configuration: configuration, options: pipelineOptions)
        } catch {
            StandardError.write("sluice: \(error)")
            return 2
        }

        let listeners: RunListeners
        do {
            listeners = try RunListeners(pipeline: pipeline, configuration: configuration, options: options)
        } catch {
            StandardError.write("sluice: \(options.serve != nil ? "serve" : "--metrics-listen"): \(error)")
            return 2
        }
        let signals = SignalHandlers(pipeline: pipeline, gracePeriod: configuration.drainTimeoutSeconds, quiet: options.quiet,
                                     listeners: listeners, spooled: configuration.spool != nil)
        let observer = RunObservers.start(for: pipeline, options: options)
        let summary: Summary
        do {
            summary = try await pipeline.run()
        } catch {
            StandardError.write("sluice: \(error)")
            return 2
        }
        await observer?.stop()
        signals.cancel()
        await listeners.stop()

        if let failure = pipeline.inputFailure { StandardError.write("sluice: input: \(failure)") }
        if !options.quiet {
            if reporter.suppressed > 0 {
                StandardError.write("sluice: \(reporter.suppressed) more invalid lines not shown\(options.deadLetterPath == nil ? " (use --dead-letter FILE to keep them)" : "")")
            }
            if notices.suppressed > 0 {
                StandardError.write("sluice: \(notices.suppressed) more dead-letter reasons not shown (see deadLetteredByReason in --summary)")
            }
            StandardError.write(summary.humanReadable)
            if let redis = pipeline.redisSourceStatistics { StandardError.write(redis.humanReadable) }
            if let shared = pipeline.sharedDedupeStatistics { StandardError.write(shared.humanReadable) }
        } else if summary.couldNotRecordEverything {
            // Even --quiet says how much could not be recorded: the exit status alone does not say how much.
            if summary.deadLetterWriteFailures > 0 {
                StandardError.write("sluice: \(summary.deadLetterWriteFailures) dead-letter records could not be written")
            }
            for (name, d) in summary.destinations.sorted(by: { $0.key < $1.key }) where d.writeFailures > 0 {
                StandardError.write("sluice: \(name): \(d.writeFailures) events could not be written")
            }
        }
        if let path = options.summaryPath {
            var bytes = summary.jsonBytes()
            bytes.append(0x0A)
            do {
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            } catch {
                StandardError.write("sluice: --summary: cannot write \(path): \(error.localizedDescription)")
                return 3  // the record of what happened to the events is what could not be written
            }
        }
        // Input that could not be read to its end (a read error, corrupt gzip, a Redis source stopped by an error
        // retrying cannot fix: wrong password, not a stream) is input lost: say so in the status.
        return pipeline.inputFailure != nil ? max(1, summary.exitStatus) : summary.exitStatus
    }
}

/// SIGINT / SIGTERM: the first stops reading and drains within the drain timeout; a second gives up waiting
/// at once (what is still queued is dead-lettered, never silently dropped).
final class SignalHandlers {
    init(pipeline: Pipeline, gracePeriod: Double, quiet: Bool, listeners: RunListeners? = nil, spooled: Bool = false) {
        // With a spool, what is not delivered in time stays there for the next run instead of being dead-lettered.
        let rest = spooled ? "leaving the rest in the spool for the next run" : "dead-lettering the rest"
        let counter = SignalCounter()
        SignalWaiter.install { number in
            if counter.increment() == 1 {
                if !quiet { StandardError.write("sluice: signal \(number): stopping input, draining (up to \(gracePeriod) s)") }
                let drain = { @Sendable in pipeline.shutdown(gracePeriod: .milliseconds(Int(gracePeriod * 1000))) }
                if let listeners { listeners.beginShutdown(then: drain, timeout: gracePeriod) } else { drain() }
            } else {
                if !quiet { StandardError.write("sluice: second signal: giving up on delivery, \(rest)") }
                pipeline.shutdown(gracePeriod: .zero)
            }
        }
    }

    func cancel() {
        SignalWaiter.ignoreFromNowOn()
    }
}

/// Counts signals: the first drains, the second gives up on delivery.
final class SignalCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
}
