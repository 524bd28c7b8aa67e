import Sluice

/// What the user asked `sluice` to do, parsed from the command line.
enum Command: Equatable, Sendable {
    /// Run the pipeline (no subcommand; `sluice serve` sets ``RunOptions/serve``).
    case run(RunOptions)
    /// `sluice generate`: write synthetic Statsig export events.
    case generate(GenerateOptions)
    /// `sluice validate --config FILE`: check a configuration and report every problem.
    case validate(configPath: String)
    /// `--help` (or `sluice help [TOPIC]`): print the help for a command.
    case help(HelpTopic)
    /// `--version`.
    case version
}

/// The commands that have their own help page.
enum HelpTopic: String, Equatable, Sendable, CaseIterable {
    case run, generate, validate, serve
}

/// Options of the pipeline run.
struct RunOptions: Equatable, Sendable {
    /// `--config FILE`; nil runs with the built-in defaults.
    var configPath: String?
    /// `--input FILE`; nil (or `-`) reads standard input.
    var inputPath: String?
    /// `--format`: the default stdout destination's format; nil when not given (statsig).
    var format: OutputFormat?
    /// `--dry-run`: HTTP destinations print their requests instead of sending them.
    var dryRun = false
    /// `--summary FILE`: where the final JSON summary goes.
    var summaryPath: String?
    /// `--dead-letter FILE`: where invalid lines and undeliverable events are appended.
    var deadLetterPath: String?
    /// `--no-dedupe`: keep duplicates.
    var noDedupe = false
    /// `--quiet`: no summary or progress on standard error.
    var quiet = false
    /// `--stats-interval SECONDS`: print a progress line this often; nil prints none.
    var statsInterval: Double?
    /// `--drain-timeout SECONDS`: overrides the configuration's `drainTimeoutSeconds`.
    var drainTimeout: Double?
    /// `--spool DIR`: the disk spool directory (overrides the configuration's `spool.path`).
    var spoolPath: String?
    /// `--exit-when-idle SECONDS` (Redis input): exit once the stream is idle and nothing is pending.
    var exitWhenIdle: Double?
    /// `--replay-destination NAME`: replaying a dead-letter file for this destination only.
    var replayDestination: String?
    /// `sluice serve`: input arrives over HTTP; nil for a stream run.
    var serve: ServeOptions?
    /// `--metrics-listen HOST:PORT`: `/healthz` and `/metrics` on their own listener.
    var metricsListen: String?
}

/// What `sluice serve` adds to the run options.
struct ServeOptions: Equatable, Sendable {
    /// `--listen HOST:PORT`; nil uses the configuration's `serve.listen`.
    var listen: String?
}

/// Options of `sluice generate`.
struct GenerateOptions: Equatable, Sendable {
    /// `--events N` (required): how many events to write.
    var events: Int
    /// `--dup-rate R`: the fraction of lines that repeat an earlier event exactly.
    var dupRate: Double = 0
    /// `--invalid-rate R`: the fraction of lines that are broken.
    var invalidRate: Double = 0
    /// `--seed S`: the same seed always produces the same output.
    var seed: UInt64 = 1
    /// `--users N`: how many distinct users the events are spread over.
    var users: Int = 10_000
    /// `--output FILE`; nil (or `-`) writes standard output.
    var outputPath: String?
}

/// A usage error: one line naming the flag; the caller prints it and exits with status 2.
struct CommandLineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The line without the `sluice: ` prefix, e.g. `--format: expected one of statsig, segment, heap (got "xml")`.
    var message: String

    var description: String { "sluice: \(message)" }
}

extension Command {
    /// Parses the arguments that follow the program name (`CommandLine.arguments.dropFirst()`).
    ///
    /// Flags take their value as `--flag value` or `--flag=value`; a repeated flag keeps its last value, as in
    /// curl. `--help` anywhere wins over every other argument, so a half-typed command can still ask for help.
    static func parse(_ arguments: [String]) throws(CommandLineError) -> Command {
        var arguments = arguments[...]
        var topic = HelpTopic.run
        if let first = arguments.first, !first.hasPrefix("-") {
            switch first {
            case "generate": topic = .generate
            case "validate": topic = .validate
            case "serve": topic = .serve
            case "help":
                let rest = arguments.dropFirst()
                guard let name = rest.first else { return .help(.run) }
                guard rest.count == 1, let requested = HelpTopic(rawValue: name) else {
                    throw CommandLineError(
                        message: "help: unknown topic \"\(rest.joined(separator: " "))\" "
                            + "(expected one of \(HelpTopic.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return .help(requested)
            default: break  // a positional argument of the run command, reported below
            }
            if topic != .run { arguments = arguments.dropFirst() }
        }
        if arguments.prefix(while: { $0 != "--" }).contains(where: { $0 == "--help" || $0 == "-h" }) {
            return .help(topic)
        }
        switch topic {
        case .run:
            if arguments.contains("--version") { return .version }
            return .run(try parseRun(arguments))
        case .serve: return .run(try parseRun(arguments, serve: true))
        case .generate: return .generate(try parseGenerate(arguments))
        case .validate: return .validate(configPath: try parseValidate(arguments))
        }
    }

    private static func parseRun(_ arguments: ArraySlice<String>, serve: Bool = false) throws(CommandLineError) -> RunOptions {
        var options = RunOptions()
        var flags = [
            "config": true, "input": true, "format": true, "dry-run": false, "summary": true,
            "dead-letter": true, "no-dedupe": false, "quiet": false, "stats-interval": true,
            "drain-timeout": true, "version": false, "metrics-listen": true, "spool": true, "exit-when-idle": true,
            "replay-destination": true,
        ]
        if serve {
            options.serve = ServeOptions()
            flags["listen"] = true
            flags["input"] = nil  // input arrives over HTTP
        }
        var scanner = ArgumentScanner(arguments, command: serve ? "serve" : nil, flags: flags)
        while let argument = try scanner.next() {
            switch argument {
            case .positional(let value) where serve:
                throw CommandLineError(message: "serve: unexpected argument \"\(value)\"")
            case .positional(let value):
                throw CommandLineError(
                    message: "unexpected argument \"\(value)\" (commands are generate, validate, serve and help; "
                        + "to read a file, use --input FILE)")
            case .flag(let flag, let value):
                switch flag {
                case "config": options.configPath = try path(value, flag)
                case "input":
                    // A redis:// URL is not a path: keep it whole (standardStream would only map `-`).
                    options.inputPath = try (value.map { $0.lowercased().hasPrefix("redis") } == true ? path(value, flag) : standardStream(path(value, flag)))
                case "format":
                    guard let format = OutputFormat(rawValue: value ?? "") else {
                        throw invalid(flag, "one of statsig, segment, heap", value)
                    }
                    options.format = format
                case "dry-run": options.dryRun = true
                case "summary": options.summaryPath = try path(value, flag)
                case "dead-letter": options.deadLetterPath = try path(value, flag)
                case "no-dedupe": options.noDedupe = true
                case "quiet": options.quiet = true
                case "stats-interval":
                    guard let seconds = Double(value ?? ""), seconds > 0, seconds.isFinite else {
                        throw invalid(flag, "a number of seconds greater than zero", value)
                    }
                    options.statsInterval = seconds
                case "drain-timeout":
                    guard let seconds = Double(value ?? ""), seconds >= 0, seconds.isFinite else {
                        throw invalid(flag, "a number of seconds, zero or more", value)
                    }
                    options.drainTimeout = seconds
                case "exit-when-idle":
                    guard let seconds = Double(value ?? ""), seconds > 0, seconds <= 86_400 else {
                        throw invalid(flag, "a number of seconds in (0, 86400]", value)
                    }
                    options.exitWhenIdle = seconds
                case "listen": options.serve?.listen = try address(value, flag)
                case "metrics-listen": options.metricsListen = try address(value, flag)
                case "spool": options.spoolPath = try path(value, flag)
                case "replay-destination":
                    guard let name = value, !name.isEmpty else { throw invalid(flag, "a destination name", value) }
                    options.replayDestination = name
                default: break
                }
            }
        }
        return options
    }

    private static func parseGenerate(_ arguments: ArraySlice<String>) throws(CommandLineError) -> GenerateOptions {
        var options = GenerateOptions(events: 0)
        var sawEvents = false
        var scanner = ArgumentScanner(arguments, command: "generate", flags: [
            "events": true, "dup-rate": true, "invalid-rate": true, "seed": true, "users": true, "output": true,
        ])
        while let argument = try scanner.next() {
            switch argument {
            case .positional(let value):
                throw CommandLineError(message: "generate: unexpected argument \"\(value)\"")
            case .flag(let flag, let value):
                switch flag {
                case "events":
                    guard let count = Int(value ?? ""), count >= 0 else {
                        throw invalid(flag, "a whole number, zero or more", value)
                    }
                    options.events = count
                    sawEvents = true
                case "dup-rate": options.dupRate = try rate(value, flag)
                case "invalid-rate": options.invalidRate = try rate(value, flag)
                case "seed":
                    guard let seed = UInt64(value ?? "") else {
                        throw invalid(flag, "a whole number from 0 to \(UInt64.max)", value)
                    }
                    options.seed = seed
                case "users":
                    guard let users = Int(value ?? ""), users > 0 else {
                        throw invalid(flag, "a whole number greater than zero", value)
                    }
                    options.users = users
                case "output": options.outputPath = try standardStream(path(value, flag))
                default: break
                }
            }
        }
        guard sawEvents else {
            throw CommandLineError(message: "--events: required by sluice generate (e.g. --events 1000)")
        }
        if options.dupRate + options.invalidRate > 1 {
            throw CommandLineError(message: "--dup-rate: together with --invalid-rate must not exceed 1")
        }
        return options
    }

    private static func parseValidate(_ arguments: ArraySlice<String>) throws(CommandLineError) -> String {
        var configPath: String?
        var scanner = ArgumentScanner(arguments, command: "validate", flags: ["config": true])
        while let argument = try scanner.next() {
            switch argument {
            // `sluice validate pipeline.json` is what a newcomer types; accept it as the --config value.
            case .positional(let value) where configPath == nil: configPath = value
            case .positional(let value):
                throw CommandLineError(message: "validate: unexpected argument \"\(value)\"")
            case .flag(let flag, let value): configPath = try path(value, flag)
            }
        }
        guard let configPath else {
            throw CommandLineError(message: "--config: required by sluice validate (e.g. --config pipeline.json)")
        }
        return configPath
    }

    private static func path(_ value: String?, _ flag: String) throws(CommandLineError) -> String {
        guard let value, !value.isEmpty else { throw CommandLineError(message: "--\(flag): expected a file name") }
        return value
    }

    private static func address(_ value: String?, _ flag: String) throws(CommandLineError) -> String {
        do {
            _ = try ListenAddress(value ?? "")
        } catch {
            throw CommandLineError(message: "--\(flag): \(error.message)")
        }
        return value ?? ""
    }

    /// `-` names standard input or output, as in most Unix tools.
    private static func standardStream(_ path: String) -> String? { path == "-" ? nil : path }

    private static func rate(_ value: String?, _ flag: String) throws(CommandLineError) -> Double {
        guard let rate = Double(value ?? ""), rate >= 0, rate <= 1 else {
            throw invalid(flag, "a number from 0 to 1", value)
        }
        return rate
    }

    private static func invalid(_ flag: String, _ expected: String, _ value: String?) -> CommandLineError {
        CommandLineError(message: "--\(flag): expected \(expected) (got \"\(value ?? "")\")")
    }
}

/// Splits arguments into flags (with their values) and positionals, checking flags against a command's list.
private struct ArgumentScanner {
    enum Argument {
        case flag(String, value: String?)
        case positional(String)
    }

    private var arguments: ArraySlice<String>
    private let command: String?
    /// Flag name (without `--`) -> whether it takes a value.
    private let flags: [String: Bool]
    private var onlyPositionals = false

    init(_ arguments: ArraySlice<String>, command: String?, flags: [String: Bool]) {
        self.arguments = arguments
        self.command = command
        self.flags = flags
    }

    mutating func next() throws(CommandLineError) -> Argument? {
        guard let argument = arguments.popFirst() else { return nil }
        if onlyPositionals || argument == "-" { return .positional(argument) }
        if argument == "--" {
            onlyPositionals = true
            return try next()
        }
        guard argument.hasPrefix("--") else {
            if argument.hasPrefix("-") { throw unknown(argument) }
            return .positional(argument)
        }
        let body = argument.dropFirst(2)
        let name: String
        var value: String?
        if let equals = body.firstIndex(of: "=") {
            name = String(body[..<equals])
            value = String(body[body.index(after: equals)...])
        } else {
            name = String(body)
        }
        guard let takesValue = flags[name] else { throw unknown("--\(name)") }
        if takesValue {
            if value == nil {
                // A following flag is not a value: `--config --quiet` most likely lost its file name.
                guard let next = arguments.first, !next.hasPrefix("--") else {
                    throw CommandLineError(message: "--\(name): requires a value")
                }
                value = arguments.popFirst()
            }
        } else if value != nil {
            throw CommandLineError(message: "--\(name): takes no value")
        }
        return .flag(name, value: value)
    }

    private func unknown(_ flag: String) -> CommandLineError {
        let known = flags.keys.sorted()
        let suggestion = known.min { distance($0, flag) < distance($1, flag) }
            .flatMap { distance($0, flag) <= 2 ? " (did you mean --\($0)?)" : nil } ?? ""
        let help = command.map { "sluice \($0) --help" } ?? "sluice --help"
        return CommandLineError(message: "\(flag): unknown option\(suggestion); see \(help)")
    }

    /// Edit distance between a known flag name and what was typed (without its dashes).
    private func distance(_ known: String, _ typed: String) -> Int {
        let typed = Array(typed.drop { $0 == "-" }.prefix { $0 != "=" })
        let known = Array(known)
        var previous = Array(0...typed.count)
        for (row, knownCharacter) in known.enumerated() {
            var current = [row + 1]
            for (column, typedCharacter) in typed.enumerated() {
                let substitution = previous[column] + (knownCharacter == typedCharacter ? 0 : 1)
                current.append(min(substitution, previous[column + 1] + 1, current[column] + 1))
            }
            previous = current
        }
        return previous[typed.count]
    }
}
