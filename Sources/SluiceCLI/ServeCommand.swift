#if canImport(Glibc)
import Glibc
#endif
import Sluice

/// The HTTP listeners of a run: the `sluice serve` relay and/or the `--metrics-listen` endpoint.
///
/// Shutdown order matters for "nothing lost": on the first signal the relay stops accepting and its
/// requests in flight finish (each one either got 200, so its events are in the pipeline, or was refused with
/// 503); only then is the pipeline told to finish, so no accepted body arrives after the drain started.
final class RunListeners: Sendable {
    let relay: RelayServer?
    let metrics: RelayServer?

    /// Starts the listeners `options` asks for; prints where they listen (and how keys are checked).
    init(pipeline: Pipeline, configuration: PipelineConfiguration, options: RunOptions) throws(ServeError) {
        if let serve = options.serve {
            MallocTuning.returnLargeBuffersToTheSystem()
            let relay = try RelayServer(pipeline: pipeline, configuration: configuration.serve, listen: serve.listen)
            if !options.quiet {
                for notice in relay.notices { StandardError.write("sluice: serve: \(notice)") }
            }
            self.relay = relay
        } else {
            relay = nil
        }
        if let listen = options.metricsListen {
            metrics = try RelayServer(pipeline: pipeline, configuration: configuration.serve, listen: listen, endpoints: .metricsOnly)
        } else {
            metrics = nil
        }
        // The address lines are printed even with --quiet: with port 0 they are the only way to learn the port.
        if let relay {
            relay.start()
            StandardError.write("sluice: serve: listening on http://\(relay.address)")
        }
        if let metrics {
            metrics.start()
            StandardError.write("sluice: metrics: listening on http://\(metrics.address)/metrics")
        }
    }

    /// First signal: stop accepting, wait for requests in flight (bounded by `timeout`), then let the
    /// pipeline drain.
    func beginShutdown(then drain: @escaping @Sendable () -> Void, timeout: Double) {
        metrics?.markDraining()
        guard let relay else {
            drain()
            return
        }
        relay.beginShutdown()
        Task {
            await relay.waitUntilConnectionsClose(timeout: .milliseconds(Int(timeout * 1000)))
            drain()
        }
    }

    /// After the run: close the metrics listener too.
    func stop() async {
        relay?.beginShutdown()
        metrics?.beginShutdown()
        await metrics?.waitUntilConnectionsClose(timeout: .seconds(2))
    }
}
