#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Sluice

/// SIGINT and SIGTERM start a graceful shutdown: the pipeline takes no more bodies, delivers what it holds,
/// and dead-letters whatever is still undelivered when `gracePeriod` ends. `run()` then returns.
final class ShutdownOnSignal {
    private let sources: [any DispatchSourceSignal]

    init(pipeline: Pipeline, gracePeriod: Duration) {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)  // let the dispatch source see it instead of the default handler
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                print("signal \(number): shutting down (grace period \(gracePeriod))")
                pipeline.shutdown(gracePeriod: gracePeriod)
            }
            source.resume()
            return source
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
