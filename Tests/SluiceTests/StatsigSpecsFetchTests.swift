import Foundation
import Testing
@testable import Sluice

/// `statsigSpecs` with a server secret: fetched from a real loopback HTTP server at start and refreshed.
@Suite struct StatsigSpecsFetchTests {
    static let secret = "secret-specs-key-42"

    static func loader(_ server: TestHTTPServer, required: Bool = true, refresh: Double = 3600) -> StatsigSpecsLoader {
        let catalog = ExperimentCatalog(specs: nil, patterns: [])
        let source = StatsigSpecsSource.remote(serverSecret: secret, url: server.url("/v1/download_config_specs").absoluteString,
                                               refreshSeconds: refresh, required: required)
        return StatsigSpecsLoader(source: source, catalog: catalog, transport: URLSessionTransport(maxConnectionsPerHost: 1))
    }

    @Test func theFirstFetchLoadsTheSpecsWithTheSecretAndTheSDKHeaders() async throws {
        let specs = try ExperimentNamingTests.fixture("statsig-specs-v2.json")
        let server = try TestHTTPServer(script: { _, _ in .respond(status: 200, headers: [], body: Array(specs)) })
        defer { server.stop() }
        let loader = Self.loader(server)
        try await loader.start()
        #expect(loader.catalog.specs?.groupName(experiment: "pricing_page_test", ruleID: "4kGkWc5Zy3XhAbZ1R0bGcE") == "Test")
        let request = try #require(server.requests.first)
        #expect(request.method == "GET")
        #expect(request.path == "/v1/download_config_specs/\(Self.secret).json")
        #expect(request.header("STATSIG-API-KEY") == Self.secret)
        #expect(request.header("STATSIG-SDK-TYPE") == "sluice")
        #expect(request.header("STATSIG-SDK-VERSION") == SluiceVersion.string)
        #expect(loader.status == SpecsStatus(fetches: 1))
    }

    @Test func aFailedRefreshKeepsTheLastGoodSpecsAndIsCounted() async throws {
        let specs = try ExperimentNamingTests.fixture("statsig-specs-v1.json")
        let server = try TestHTTPServer(script: { _, index in
            index == 0 ? .respond(status: 200, headers: [], body: Array(specs)) : .status(500, body: "down")
        })
        defer { server.stop() }
        let loader = Self.loader(server)
        try await loader.start()
        let failure = await loader.refresh()
        #expect(failure == "HTTP 500")
        #expect(loader.catalog.specs?.isExperiment("pricing_page_test") == true)
        #expect(loader.status == SpecsStatus(fetches: 1, failedFetches: 1, lastError: "HTTP 500"))
    }

    @Test func aFailedFirstFetchIsAnErrorUnlessNotRequired() async throws {
        let server = try TestHTTPServer(script: { _, _ in .status(401, body: "bad key") })
        defer { server.stop() }
        await #expect { try await Self.loader(server).start() } throws: { error in
            let text = "\(error)"
            return text.contains("HTTP 401") && !text.contains(Self.secret)
        }
        let optional = Self.loader(server, required: false)
        try await optional.start()
        #expect(optional.catalog.specs == nil)
        #expect(optional.status.failedFetches == 1)
    }

    @Test func theRefreshLoopFetchesAgainAndSwapsInNewSpecs() async throws {
        let first = try ExperimentNamingTests.fixture("statsig-specs-v1.json")
        let second = Array(#"{"dynamic_configs": {"new_test": {"name": "new_test", "entity": "experiment", "rules": []}}}"#.utf8)
        let server = try TestHTTPServer(script: { _, index in
            .respond(status: 200, headers: [], body: index == 0 ? Array(first) : second)
        })
        defer { server.stop() }
        let loader = Self.loader(server, refresh: 1)
        try await loader.start()
        let loop = Task { await loader.refreshLoop() }
        defer { loop.cancel() }
        #expect(await PipelineTestSupport.eventually(timeout: .seconds(20)) { loader.catalog.specs?.isExperiment("new_test") == true })
        #expect(loader.catalog.specs?.isExperiment("pricing_page_test") == false)
    }

    @Test func aPipelineWithRemoteSpecsRenamesAndReportsTheFetchInTheSummary() async throws {
        let specs = try ExperimentNamingTests.fixture("statsig-specs-v1.json")
        let server = try TestHTTPServer(script: { _, _ in .respond(status: 200, headers: [], body: Array(specs)) })
        defer { server.stop() }
        var configuration = PipelineTestSupport.configuration()
        configuration.experimentNaming.specs = .remote(serverSecret: Self.secret, url: server.url("/specs").absoluteString,
                                                       refreshSeconds: 3600, required: true)
        let recorder = RecordingDestination()
        let pipeline = try Pipeline(configuration: configuration, options: PipelineOptions(
            customDestinations: [CustomDestinationRegistration(name: "r", destination: recorder)]))
        async let summary = pipeline.run()
        _ = await pipeline.ingest(Array(try ExperimentNamingTests.fixture("exposures.ndjson")))
        pipeline.finish()
        let result = try await summary
        #expect(recorder.events.map(\.eventName).filter { $0 == "statsig::experiment_exposure" }.count == 2)
        #expect(result.statsigSpecs == SpecsStatus(fetches: 1))
        #expect(String(decoding: result.jsonBytes(), as: UTF8.self).contains(#""statsigSpecs":{"fetches":1,"failedFetches":0}"#))
    }
}
