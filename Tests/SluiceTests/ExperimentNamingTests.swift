import Foundation
import Testing
@testable import Sluice

/// Experiment exposures named as Statsig names them (issue 13, rule 1).
@Suite struct ExperimentNamingTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/integrations")
    static func fixture(_ name: String) throws -> Data { try Data(contentsOf: examples.appendingPathComponent(name)) }

    static func options(specs: StatsigSpecs?, patterns: [String] = []) -> DecoderOptions {
        var options = DecoderOptions()
        options.experiments = ExperimentCatalog(specs: specs, patterns: patterns)
        return options
    }

    static func exportLines(_ options: DecoderOptions) throws -> [String] {
        let input = String(decoding: try fixture("exposures.ndjson"), as: UTF8.self)
        let (chunk, invalid) = IntegrationFixtures.decode(input.split(separator: "\n").map(String.init), options: options)
        #expect(invalid.isEmpty)
        return chunk.withArena { arena in
            chunk.events.map { event in
                var out: [UInt8] = []
                StatsigExportFormat.append(event, unitID: event.userID, arena: arena, to: &out)
                return String(decoding: out, as: UTF8.self)
            }
        }
    }

    @Test func v1AndV2SpecsReadTheSameExperimentsAndGroups() throws {
        let v1 = try StatsigSpecs.parse(Self.fixture("statsig-specs-v1.json"))
        let v2 = try StatsigSpecs.parse(Self.fixture("statsig-specs-v2.json"))
        #expect(v1.experiments == [
            "pricing_page_test": ["4kGkWbrZ7M3aQy5sFvR1oN": "Control", "4kGkWc5Zy3XhAbZ1R0bGcE": "Test"],
            "checkout_button_copy": ["2sYx9eJ0bq8Lw3Nn5Vv7Tt": "Buy now"],
        ])
        #expect(v1.layers == ["checkout_layer"])
        #expect(v1.time == 1_714_564_000_000)
        #expect(v2 == v1)
        #expect(!v1.isExperiment("search_ranking"))  // entity dynamic_config
    }

    @Test func specsThatAreNotADownloadConfigSpecsResponseAreRefusedWithTheReason() {
        #expect(throws: StatsigSpecs.ParseError.self) { try StatsigSpecs.parse(Data("[1]".utf8)) }
        #expect(throws: StatsigSpecs.ParseError.self) { try StatsigSpecs.parse(Data(#"{"feature_gates":[]}"#.utf8)) }
        #expect(throws: StatsigSpecs.ParseError.self) { try StatsigSpecs.parse(Data(#"{"dynamic_configs":5}"#.utf8)) }
        #expect(throws: StatsigSpecs.ParseError.self) { try StatsigSpecs.parse(Data("not json".utf8)) }
    }

    /// Golden: the export lines of the sample exposures with the v1 specs (bodies byte for byte).
    @Test(arguments: ["statsig-specs-v1.json", "statsig-specs-v2.json"])
    func configExposuresOfExperimentsBecomeExperimentExposuresWithTheGroupOfTheirRule(_ file: String) throws {
        let specs = try StatsigSpecs.parse(Self.fixture(file))
        let lines = try Self.exportLines(Self.options(specs: specs))
        #expect(lines.count == 4)
        // A group rule: renamed, with the group's name.
        #expect(lines[0].hasPrefix(#"{"eventName":"statsig::experiment_exposure","user":{"userID":"u1","customIDs":{"stableID":"s1"}},"userID":"u1","timestamp":1714564800000,"value":null,"metadata":{"config":"pricing_page_test","ruleID":"4kGkWc5Zy3XhAbZ1R0bGcE","reason":"Network","experimentGroupName":"Test"},"statsigMetadata":{"sdkType":"statsig-node","sdkVersion":"5.25.1"},"secondaryExposures":[],"timeUUID":"#))
        // A targeting rule: still an exposure of the experiment, but no group.
        #expect(lines[1].hasPrefix(#"{"eventName":"statsig::experiment_exposure","user":{"userID":"u2"},"userID":"u2","timestamp":1714564800100,"value":null,"metadata":{"config":"pricing_page_test","ruleID":"targetingGate","reason":"Network"},"#))
        // A dynamic config: unchanged.
        #expect(lines[2].hasPrefix(#"{"eventName":"statsig::config_exposure","user":{"userID":"u3"},"userID":"u3","timestamp":1714564800200,"value":null,"metadata":{"config":"search_ranking","ruleID":"1xQz7kVbN2mLp4Rt6Yw8Us","reason":"Network"},"#))
        // A layer exposure: stays a layer exposure, with its allocated experiment's group.
        #expect(lines[3].hasPrefix(#"{"eventName":"statsig::layer_exposure","user":{"userID":"u4"},"userID":"u4","timestamp":1714564800300,"value":null,"metadata":{"config":"checkout_layer","ruleID":"2sYx9eJ0bq8Lw3Nn5Vv7Tt","allocatedExperiment":"checkout_button_copy","parameterName":"label","isExplicitParameter":"true","reason":"Network","experimentGroupName":"Buy now"},"#))
    }

    @Test func renamedExposuresHaveTheExperimentCategoryAndKeepTheirDeduplicationKey() throws {
        let input = String(decoding: try Self.fixture("exposures.ndjson"), as: UTF8.self)
        let specs = try StatsigSpecs.parse(Self.fixture("statsig-specs-v1.json"))
        let (plain, _) = IntegrationFixtures.decode([input])
        let (named, _) = IntegrationFixtures.decode([input], options: Self.options(specs: specs))
        #expect(named.events.map(\.category) == [.experimentExposure, .experimentExposure, .configExposure, .layerExposure])
        #expect(plain.events.map(\.category) == [.configExposure, .configExposure, .configExposure, .layerExposure])
        #expect(named.events.map(\.timeUUID) == plain.events.map(\.timeUUID))
    }

    @Test func withoutSpecsNamePatternsRenameWithoutAGroupName() throws {
        let lines = try Self.exportLines(Self.options(specs: nil, patterns: ["pricing_*"]))
        #expect(lines[0].hasPrefix(#"{"eventName":"statsig::experiment_exposure","user":{"userID":"u1","customIDs":{"stableID":"s1"}},"userID":"u1","timestamp":1714564800000,"value":null,"metadata":{"config":"pricing_page_test","ruleID":"4kGkWc5Zy3XhAbZ1R0bGcE","reason":"Network"},"#))
        #expect(lines[2].hasPrefix(#"{"eventName":"statsig::config_exposure""#))
        #expect(!lines[3].contains("experimentGroupName"))
    }

    @Test func anExposureThatAlreadyCarriesAGroupNameKeepsIt() {
        let line = #"{"eventName":"statsig::config_exposure","user":{"userID":"u1"},"time":1714564800000,"metadata":{"config":"pricing_page_test","ruleID":"4kGkWc5Zy3XhAbZ1R0bGcE","experimentGroupName":"Test (SDK)"}}"#
        let specs = StatsigSpecs(experiments: ["pricing_page_test": ["4kGkWc5Zy3XhAbZ1R0bGcE": "Test"]])
        let (chunk, _) = IntegrationFixtures.decode([line], options: Self.options(specs: specs))
        #expect(chunk.text(chunk.events[0].metadata) == #"{"config":"pricing_page_test","ruleID":"4kGkWc5Zy3XhAbZ1R0bGcE","experimentGroupName":"Test (SDK)"}"#)
        #expect(chunk.string(chunk.events[0].eventName) == "statsig::experiment_exposure")
    }

    @Test func categorySelectionsSeeTheNewCategoryInAPipeline() async throws {
        let specsFile = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-specs-\(UUID().uuidString).json")
        try Self.fixture("statsig-specs-v2.json").write(to: specsFile)
        defer { try? FileManager.default.removeItem(at: specsFile) }
        let configuration = try ConfigurationLoader.parse("""
            {"statsigSpecs": {"file": "\(specsFile.path)"},
             "destinations": [{"name": "experiments", "type": "stdout", "events": {"categories": ["experiment_exposure"]}}]}
            """)
        let recorder = RecordingDestination()
        var config = configuration
        config.destinations = []
        let pipeline = try Pipeline(configuration: config, options: PipelineOptions(customDestinations: [
            CustomDestinationRegistration(name: "experiments", destination: recorder,
                                          events: EventSelection(categories: [.experimentExposure])),
        ]))
        async let summary = pipeline.run()
        _ = await pipeline.ingest(Array(try Self.fixture("exposures.ndjson")))
        pipeline.finish()
        let result = try await summary
        #expect(recorder.events.map(\.eventName) == ["statsig::experiment_exposure", "statsig::experiment_exposure"])
        #expect(result.destinations["experiments"]?.filtered == 2)
        #expect(result.isBalanced)
    }

    @Test func aMissingOrBrokenSpecsFileStopsThePipelineWithTheFileInTheMessage() throws {
        var configuration = PipelineConfiguration()
        configuration.experimentNaming = ExperimentNamingConfiguration(specs: .file(path: "/nonexistent/specs.json"))
        #expect { try Pipeline(configuration: configuration) } throws: { error in
            "\(error)".contains("/nonexistent/specs.json")
        }
    }

    @Test func statsigSpecsAndExperimentsKeysAreLoadedAndValidated() throws {
        let remote = try ConfigurationLoader.parse(#"{"statsigSpecs": {"serverSecret": "${S}", "refreshSeconds": 30, "required": false}, "experiments": ["pricing_*"]}"#,
                                                   environment: ["S": "secret-abc"])
        #expect(remote.experimentNaming == ExperimentNamingConfiguration(
            specs: .remote(serverSecret: "secret-abc", url: StatsigSpecsSource.defaultURL, refreshSeconds: 30, required: false),
            patterns: ["pricing_*"]))
        #expect(remote.secrets.contains("secret-abc"))
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(#"{"statsigSpecs": {"serverSecret": "x", "refreshSeconds": 0}}"#) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(#"{"statsigSpecs": {"file": "a", "url": "b"}}"#) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(#"{"statsigSpecs": {}}"#) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(#"{"experiments": [""]}"#) }
    }

    /// Golden: Heap's "Statsig Experiments" event from an initialize record whose SDK listed rule IDs.
    @Test func heapStatsigExperimentsEventsCarryGroupNamesWhereTheRecordHadRuleIDs() async throws {
        let line = #"{"eventName":"statsig::initialize","user":{"userID":"u1"},"time":1714564800000,"timeUUID":"11111111-2222-11ef-8000-000000000001","metadata":{"gates":{"new_checkout":true},"experiments":{"pricing_page_test":"4kGkWbrZ7M3aQy5sFvR1oN","checkout_button_copy":"Buy now","unknown_test":"x"}}}"#
        let specs = try StatsigSpecs.parse(Self.fixture("statsig-specs-v1.json"))
        let (chunk, _) = IntegrationFixtures.decode([line], options: Self.options(specs: specs))
        let encoded = await IntegrationFixtures.encode(chunk, rule: IntegrationFixtures.heapRule, encoder: HeapFormat(appID: nil))
        let experiments = try #require(encoded.items.first?.split(separator: "\n").last)
        #expect(experiments.hasSuffix(#""properties":{"pricing_page_test":"Control","checkout_button_copy":"Buy now","unknown_test":"x"}}"#))
        let (plain, _) = IntegrationFixtures.decode([line])
        let unnamed = await IntegrationFixtures.encode(plain, rule: IntegrationFixtures.heapRule, encoder: HeapFormat(appID: nil))
        #expect(unnamed.items.first?.contains(#""pricing_page_test":"4kGkWbrZ7M3aQy5sFvR1oN""#) == true)
    }

    @Test func statsigLogEventGetsExperimentExposuresBackUnderTheSDKNameWithTheGroupKept() async throws {
        let specs = try StatsigSpecs.parse(Self.fixture("statsig-specs-v2.json"))
        let input = String(decoding: try Self.fixture("exposures.ndjson"), as: UTF8.self)
        let (chunk, _) = IntegrationFixtures.decode(input.split(separator: "\n").map(String.init), options: Self.options(specs: specs))
        let statsig = await IntegrationFixtures.encode(chunk, rule: .none, encoder: StatsigLogEventFormat())
        let names = statsig.items.map { IntegrationFixtures.object($0)?["eventName"] as? String }
        #expect(names == ["statsig::config_exposure", "statsig::config_exposure", "statsig::config_exposure", "statsig::layer_exposure"])
        #expect(statsig.items[0].contains(#""experimentGroupName":"Test""#))
        // Downstream analytics keep Statsig's integration name.
        let segment = await IntegrationFixtures.encode(chunk, rule: IntegrationFixtures.segmentRule, encoder: SegmentFormat(framing: .batch))
        #expect(segment.items[0].contains(#""event":"statsig::experiment_exposure""#))
    }
}
