import Testing
import Sluice
@testable import SluiceCLI

/// The usage error a command line produces, or nil when it parses.
private func parseError(_ arguments: [String]) -> String? {
    do {
        _ = try Command.parse(arguments)
        return nil
    } catch {
        return error.description
    }
}

@Suite("CommandLineOptions")
struct CommandLineOptionsTests {
    // MARK: Run

    @Test("no arguments runs with the defaults")
    func noArguments() throws {
        #expect(try Command.parse([]) == .run(RunOptions()))
    }

    @Test("every run flag parses in both spellings", arguments: [true, false])
    func everyRunFlag(joined: Bool) throws {
        func flag(_ name: String, _ value: String) -> [String] { joined ? ["\(name)=\(value)"] : [name, value] }
        let arguments = flag("--config", "pipeline.json") + flag("--input", "events.ndjson")
            + flag("--format", "heap") + ["--dry-run"] + flag("--summary", "summary.json")
            + flag("--dead-letter", "dead.ndjson") + ["--no-dedupe", "--quiet"]
            + flag("--stats-interval", "0.5") + flag("--drain-timeout", "12")
        var expected = RunOptions()
        expected.configPath = "pipeline.json"
        expected.inputPath = "events.ndjson"
        expected.format = .heap
        expected.dryRun = true
        expected.summaryPath = "summary.json"
        expected.deadLetterPath = "dead.ndjson"
        expected.noDedupe = true
        expected.quiet = true
        expected.statsInterval = 0.5
        expected.drainTimeout = 12
        #expect(try Command.parse(arguments) == .run(expected))
    }

    @Test("each output format parses", arguments: OutputFormat.allCases)
    func formats(format: OutputFormat) throws {
        guard case .run(let options) = try Command.parse(["--format", format.rawValue]) else {
            Issue.record("expected a run command")
            return
        }
        #expect(options.format == format)
    }

    @Test("--input - means standard input, and a repeated flag keeps its last value")
    func inputDashAndRepeats() throws {
        guard case .run(let options) = try Command.parse(["--input", "a", "--input", "-", "--format=segment", "--format=heap"])
        else {
            Issue.record("expected a run command")
            return
        }
        #expect(options.inputPath == nil)
        #expect(options.format == .heap)
    }

    @Test("a value may contain = and start with a single dash")
    func awkwardValues() throws {
        guard case .run(let options) = try Command.parse(["--config=a=b.json", "--summary", "-summary.json"]) else {
            Issue.record("expected a run command")
            return
        }
        #expect(options.configPath == "a=b.json")
        #expect(options.summaryPath == "-summary.json")
    }

    @Test("run errors name the flag", arguments: [
        (["--format", "xml"], #"sluice: --format: expected one of statsig, segment, heap (got "xml")"#),
        (["--format=xml"], #"sluice: --format: expected one of statsig, segment, heap (got "xml")"#),
        (["--format"], "sluice: --format: requires a value"),
        (["--config", "--quiet"], "sluice: --config: requires a value"),
        (["--config="], "sluice: --config: expected a file name"),
        (["--stats-interval", "0"], #"sluice: --stats-interval: expected a number of seconds greater than zero (got "0")"#),
        (["--stats-interval", "soon"], #"sluice: --stats-interval: expected a number of seconds greater than zero (got "soon")"#),
        (["--drain-timeout", "-1"], #"sluice: --drain-timeout: expected a number of seconds, zero or more (got "-1")"#),
        (["--dry-run=yes"], "sluice: --dry-run: takes no value"),
        (["--quiet=1"], "sluice: --quiet: takes no value"),
        (["--frmat", "heap"], "sluice: --frmat: unknown option (did you mean --format?); see sluice --help"),
        (["--bogus"], "sluice: --bogus: unknown option; see sluice --help"),
        (["-x"], "sluice: -x: unknown option; see sluice --help"),
        (["events.ndjson"], #"sluice: unexpected argument "events.ndjson" (commands are generate, validate, serve and help; to read a file, use --input FILE)"#),
        (["--quiet", "generate"], #"sluice: unexpected argument "generate" (commands are generate, validate, serve and help; to read a file, use --input FILE)"#),
    ])
    func runErrors(arguments: [String], message: String) {
        #expect(parseError(arguments) == message)
    }

    // MARK: Help and version

    @Test("--help and -h ask for the page of the command they follow", arguments: [
        (["--help"], HelpTopic.run),
        (["-h"], .run),
        (["--format", "xml", "--help"], .run),
        (["generate", "--help"], .generate),
        (["generate", "-h"], .generate),
        (["validate", "--help"], .validate),
        (["help"], .run),
        (["help", "generate"], .generate),
        (["help", "validate"], .validate),
        (["help", "run"], .run),
    ])
    func help(arguments: [String], topic: HelpTopic) throws {
        #expect(try Command.parse(arguments) == .help(topic))
    }

    @Test("help for an unknown topic is an error")
    func unknownHelpTopic() {
        #expect(parseError(["help", "frobnicate"])
            == #"sluice: help: unknown topic "frobnicate" (expected one of run, generate, validate, serve)"#)
    }

    @Test("--version prints the version")
    func version() throws {
        #expect(try Command.parse(["--version"]) == .version)
        #expect(try Command.parse(["--quiet", "--version"]) == .version)
    }

    // MARK: Generate

    @Test("generate has defaults for everything but --events")
    func generateDefaults() throws {
        #expect(try Command.parse(["generate", "--events", "1000"]) == .generate(GenerateOptions(events: 1000)))
        let defaults = GenerateOptions(events: 5)
        #expect(defaults.dupRate == 0 && defaults.invalidRate == 0 && defaults.seed == 1 && defaults.users == 10_000)
        #expect(defaults.outputPath == nil)
    }

    @Test("every generate flag parses in both spellings", arguments: [true, false])
    func everyGenerateFlag(joined: Bool) throws {
        func flag(_ name: String, _ value: String) -> [String] { joined ? ["\(name)=\(value)"] : [name, value] }
        let arguments = ["generate"] + flag("--events", "1000000") + flag("--dup-rate", "0.05")
            + flag("--invalid-rate", "0.01") + flag("--seed", "18446744073709551615") + flag("--users", "42")
            + flag("--output", "events.ndjson")
        let expected = GenerateOptions(
            events: 1_000_000, dupRate: 0.05, invalidRate: 0.01, seed: .max, users: 42, outputPath: "events.ndjson")
        #expect(try Command.parse(arguments) == .generate(expected))
    }

    @Test("generate errors name the flag", arguments: [
        (["generate"], "sluice: --events: required by sluice generate (e.g. --events 1000)"),
        (["generate", "--events", "lots"], #"sluice: --events: expected a whole number, zero or more (got "lots")"#),
        (["generate", "--events", "-5"], #"sluice: --events: expected a whole number, zero or more (got "-5")"#),
        (["generate", "--events", "10", "--dup-rate", "1.5"], #"sluice: --dup-rate: expected a number from 0 to 1 (got "1.5")"#),
        (["generate", "--events", "10", "--invalid-rate=-0.1"], #"sluice: --invalid-rate: expected a number from 0 to 1 (got "-0.1")"#),
        (["generate", "--events", "10", "--dup-rate", "0.6", "--invalid-rate", "0.6"],
         "sluice: --dup-rate: together with --invalid-rate must not exceed 1"),
        (["generate", "--events", "10", "--seed", "-1"], #"sluice: --seed: expected a whole number from 0 to 18446744073709551615 (got "-1")"#),
        (["generate", "--events", "10", "--users", "0"], #"sluice: --users: expected a whole number greater than zero (got "0")"#),
        (["generate", "--events", "10", "--format", "heap"], "sluice: --format: unknown option; see sluice generate --help"),
        (["generate", "--event", "10"], "sluice: --event: unknown option (did you mean --events?); see sluice generate --help"),
        (["generate", "--events", "10", "extra"], #"sluice: generate: unexpected argument "extra""#),
    ])
    func generateErrors(arguments: [String], message: String) {
        #expect(parseError(arguments) == message)
    }

    // MARK: Validate

    @Test("validate takes the configuration as --config or as its only argument", arguments: [
        ["validate", "--config", "pipeline.json"],
        ["validate", "--config=pipeline.json"],
        ["validate", "pipeline.json"],
    ])
    func validate(arguments: [String]) throws {
        #expect(try Command.parse(arguments) == .validate(configPath: "pipeline.json"))
    }

    @Test("validate errors name the flag", arguments: [
        (["validate"], "sluice: --config: required by sluice validate (e.g. --config pipeline.json)"),
        (["validate", "--config"], "sluice: --config: requires a value"),
        (["validate", "a.json", "b.json"], #"sluice: validate: unexpected argument "b.json""#),
        (["validate", "--quiet"], "sluice: --quiet: unknown option; see sluice validate --help"),
    ])
    func validateErrors(arguments: [String], message: String) {
        #expect(parseError(arguments) == message)
    }

    // MARK: Help text

    @Test("each help page documents every flag its command accepts", arguments: [
        (HelpTopic.run, ["--config", "--input", "--format", "--dry-run", "--summary", "--dead-letter", "--no-dedupe",
                         "--quiet", "--stats-interval", "--drain-timeout", "--version", "--help"]),
        (.generate, ["--events", "--dup-rate", "--invalid-rate", "--seed", "--users", "--output", "--help"]),
        (.validate, ["--config", "--help"]),
    ])
    func helpDocumentsFlags(topic: HelpTopic, flags: [String]) {
        let text = HelpText.text(for: topic)
        for flag in flags {
            #expect(text.contains(flag), "\(topic) help lacks \(flag)")
        }
    }

    @Test("the help pages carry the contract's examples")
    func helpExamples() {
        #expect(HelpText.run.contains("sluice generate --events 1000000 | sluice --format segment"))
        #expect(HelpText.run.contains("sluice --config pipeline.json < events.ndjson"))
        #expect(HelpText.validate.contains("sluice validate --config pipeline.json"))
        #expect(HelpText.generate.contains("sluice generate --events 1000000 | sluice --format segment"))
    }
}
