import Foundation
/// Which sender delivers each destination's batches.
extension DestinationFactory {
    /// The destination's sender, paced by its `rateLimit` rules when it has any (never in a dry run, which
    /// sends nothing).
    func makeSender(for destination: DestinationConfiguration, counters: DestinationCounters = DestinationCounters()) throws -> any BatchSender {
        let sender = try makeUnpacedSender(for: destination)
        let limits = destination.rateLimit.resolved(for: destination.kind)
        guard !limits.isEmpty, !options.dryRun else { return sender }
        return RateLimitedSender(base: sender, limiter: RateLimiter(limits), counters: counters)
    }

    private func makeUnpacedSender(for destination: DestinationConfiguration) throws -> any BatchSender {
        switch destination.kind {
        case .stdout:
            standardOutput.markInUse()
            return FileDescriptorSender(sink: standardOutput)
        case .file(let path, _):
            do {
                return FileDescriptorSender(sink: try FileDescriptorSink(path: path, mode: destination.fileMode, notices: notices))
            } catch {
                throw PipelineError("destinations \"\(destination.name)\": \(error)")
            }
        case .redisStream(let redis):
            do {
                return RedisStreamSender(destination: redis, endpoint: try redis.endpoint(environment: ProcessInfo.processInfo.environment),
                                         encoder: try makeEncoder(for: destination), name: destination.name)
            } catch {
                throw PipelineError("destinations \"\(destination.name)\": \(error)")
            }
        case .segment, .heap, .statsig, .statsigIDLists, .webhook:
            guard let target = try HTTPRequestTarget(destination) else {
                throw PipelineError("destinations \"\(destination.name)\": type \(destination.kind.typeName) is not an HTTP destination")
            }
            if options.dryRun {
                standardOutput.markInUse()
                return DryRunSender(target: target, sink: standardOutput, redactor: redactor)
            }
            // Without an injected transport each destination gets its own URLSession, sized to its concurrency,
            // so one slow API cannot take the connections another needs.
            return HTTPBatchSender(target: target, destination: destination, transport: options.httpTransport)
        }
    }
}
