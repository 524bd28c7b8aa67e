// An HTTP service's use of Sluice, minus the HTTP: request bodies arrive, are handed to the pipeline, and
// batches leave through the service's own sink (here a simulated message queue). Metrics are printed every
// half second; Ctrl-C or the end of the bodies shuts the pipeline down gracefully.
//
//   swift run sluice-embedding-example                 # generated bodies
//   swift run sluice-embedding-example bodies/ a.json  # each file is one request body (any input shape)
import Foundation
import Sluice

let bodies = try RequestBodies.load(arguments: Array(CommandLine.arguments.dropFirst()))

// The configuration is a plain value: the same model `sluice --config` decodes, here built in code.
var configuration = PipelineConfiguration(destinations: [])  // no built-in destinations: only our own sink
configuration.drainTimeoutSeconds = 5
let queue = SimulatedQueue()
let pipeline = try Pipeline(configuration: configuration, options: PipelineOptions(customDestinations: [
    CustomDestinationRegistration(
        name: "queue", destination: QueueDestination(queue: queue),
        batch: BatchConfiguration(maxEvents: 250, maxBytes: 512_000, maxDelayMs: 100),
        retry: RetryConfiguration(maxAttempts: 5, initialBackoffMs: 20, maxBackoffMs: 500),
        concurrency: 2),
]))

// Ctrl-C: stop taking bodies, deliver what is queued; after 5 s dead-letter the rest.
let signals = ShutdownOnSignal(pipeline: pipeline, gracePeriod: .seconds(5))

// The operator's view: one line per half second, ending by itself when the pipeline finishes.
let dashboard = Task {
    for await m in pipeline.metrics(every: .milliseconds(500)) {
        let q = m.destinations["queue"] ?? .init()
        print("[\(m.phase)] \(m.ingested) in (\(Int(m.intervalEventsPerSecond ?? m.eventsPerSecond)) ev/s), "
              + "\(m.duplicates) dup, \(m.invalid) invalid | queue: \(q.delivered) delivered, lag \(q.pending), "
              + "\(q.inFlight) in flight, \(q.retries) retries")
    }
}

// The request loop: `ingest` suspends while the pipeline is full, which is the backpressure an HTTP handler
// would pass on to its clients by answering more slowly.
let feeder = Task {
    var last: IngestResult?
    for body in bodies {
        let result = await pipeline.ingest(body)
        if result.refused { break }  // shutting down
        for problem in result.invalid.prefix(3) { print("invalid: \(problem.summary)") }
        last = result
    }
    // `ingest` returned at acceptance (in memory). A handler that answers only after delivery awaits the body's
    // settlement: here, the last body's, before finishing.
    if let last, let outcome = try? await last.settlement.wait() {
        print("last body settled: \(outcome.isDelivered ? "delivered" : "NOT delivered"), "
              + "\(outcome.destinations["queue"]?.delivered ?? 0) of its events delivered to the queue")
    }
    pipeline.finish()
}

let summary = try await pipeline.run()
await feeder.value
await dashboard.value
signals.cancel()
print(summary.humanReadable)
print("queue holds \(await queue.messageCount) messages, \(await queue.byteCount) bytes")
exit(summary.exitStatus)
