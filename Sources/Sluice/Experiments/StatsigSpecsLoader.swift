import Foundation
import Synchronization

/// Loads the project's config specs (a file, or Statsig's CDN with a server secret) into an
/// ``ExperimentCatalog``, and keeps remote specs fresh.
///
/// A remote fetch is `GET {url}/{serverSecret}.json` with the secret also in `STATSIG-API-KEY` and the
/// SDK headers Statsig's server SDKs send; errors never quote the URL (it holds the secret). A failed refresh
/// keeps the last good specs; every outcome is counted in ``SpecsStatus``.
final class StatsigSpecsLoader: Sendable {
    let source: StatsigSpecsSource
    let catalog: ExperimentCatalog
    private let transport: (any HTTPTransport)?
    private let state = Mutex(SpecsStatus())
    /// Opens once the first fetch has finished (or for file specs, at once), so `ingest` calls that arrive
    /// while it is under way do not decode with no specs.
    private let firstFetch = SpecsGate()

    init(source: StatsigSpecsSource, catalog: ExperimentCatalog, transport: (any HTTPTransport)?) {
        self.source = source
        self.catalog = catalog
        self.transport = transport
        if case .file = source { firstFetch.open() }  // loaded before the pipeline exists
    }

    /// Loads, fetches and refresh failures so far.
    var status: SpecsStatus { state.withLock { $0 } }

    /// Reads a specs file; throws a message naming the file and the problem.
    static func load(file path: String) throws(PipelineError) -> StatsigSpecs {
        let data: Data
        do {
            data = try WholeFileReader.contents(of: path, limit: 512 << 20)
        } catch {
            throw PipelineError("statsigSpecs.file: cannot read \(path): \(error)")
        }
        do {
            return try StatsigSpecs.parse(data)
        } catch {
            throw PipelineError("statsigSpecs.file: \(path): \(error)")
        }
    }

    /// The first remote fetch; throws when it fails and the specs are required.
    func start() async throws(PipelineError) {
        defer { firstFetch.open() }
        guard case .remote(_, _, _, let required) = source else { return }
        if let failure = await refresh(), required {
            throw PipelineError("statsigSpecs: the first fetch failed (\(failure)); set \"required\": false to run without specs")
        }
    }

    /// Returns once the first fetch has finished (immediately for file specs or after a failure).
    func waitUntilLoaded() async { await firstFetch.wait() }

    /// Fetches again every `refreshSeconds` until the task is cancelled.
    func refreshLoop() async {
        guard case .remote(_, _, let seconds, _) = source else { return }
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(Int(seconds * 1000))) } catch { return }
            _ = await refresh()
        }
    }

    /// One fetch; returns why it failed, or nil after replacing the catalog's specs.
    @discardableResult
    func refresh() async -> String? {
        guard case .remote(let secret, let url, _, _) = source else { return nil }
        let failure: String?
        switch await fetch(secret: secret, url: url) {
        case .success(let specs):
            catalog.replace(specs)
            failure = nil
        case .failure(let error):
            failure = error.message
        }
        state.withLock { status in
            if let failure {
                status.failedFetches += 1
                status.lastError = failure
            } else {
                status.fetches += 1
            }
        }
        return failure
    }

    private func fetch(secret: String, url: String) async -> Result<StatsigSpecs, PipelineError> {
        guard let target = URL(string: HTTPRequestTarget.trimmed(url) + "/" + StatsigIDListFormat.percentEncoded(secret) + ".json") else {
            return .failure(PipelineError("statsigSpecs.url does not make a valid URL"))
        }
        let request = HTTPRequest(method: "GET", url: target, headers: [
            ("STATSIG-API-KEY", secret), ("User-Agent", HTTPRequestTarget.userAgent),
        ] + StatsigSDKHeaders.fixed)
        let transport = self.transport ?? URLSessionTransport(maxConnectionsPerHost: 1)
        let response: HTTPResponse
        do {
            response = try await transport.send(request, timeout: .seconds(30))
        } catch {
            return .failure(PipelineError("\(error)"))
        }
        guard (200..<300).contains(response.status) else {
            return .failure(PipelineError("HTTP \(response.status)"))
        }
        do {
            return .success(try StatsigSpecs.parse(Data(response.body)))
        } catch {
            return .failure(PipelineError("\(error)"))
        }
    }
}

/// How the remote specs have fared; reported in the summary.
public struct SpecsStatus: Sendable, Equatable {
    /// Successful fetches (the first included).
    public var fetches = 0
    /// Failed fetches; the last good specs stayed in use.
    public var failedFetches = 0
    /// Why the latest failed fetch failed (never contains the secret or the URL).
    public var lastError: String?

    /// Creates a status.
    public init(fetches: Int = 0, failedFetches: Int = 0, lastError: String? = nil) {
        self.fetches = fetches
        self.failedFetches = failedFetches
        self.lastError = lastError
    }
}

extension Pipeline {
    /// The catalog the decoder consults, with file specs already loaded, and the loader for remote specs.
    static func experimentCatalog(_ naming: ExperimentNamingConfiguration, _ options: PipelineOptions)
        throws(PipelineError) -> (ExperimentCatalog?, StatsigSpecsLoader?) {
        guard naming.isEnabled else { return (nil, nil) }
        var specs: StatsigSpecs?
        if case .file(let path) = naming.specs { specs = try StatsigSpecsLoader.load(file: path) }
        let catalog = ExperimentCatalog(specs: specs, patterns: naming.patterns)
        let loader = naming.specs.map { StatsigSpecsLoader(source: $0, catalog: catalog, transport: options.httpTransport) }
        return (catalog, loader)
    }
}

/// A one-shot latch that async waiters suspend on until it opens.
final class SpecsGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Returns once ``open()`` has been called.
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Lets every waiter (present and future) through.
    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }
}
