/// The parsed command line of `sluice-bench`.
struct BenchCommand: Sendable {
    var baseline = BenchSettings()
    var sweeps: [SweepAxis] = []
    var warmups = 1
    var repetitions = 3
    var inProcess = false
    var inputFile: String?
    var jsonPath: String?
    var comparePath: String?
    var runPipelines = true
    var runMicro = true
    var micro = MicroSuite()
    var peers = false
    var peerEvents = 300_000
    var peerRuns = 3
    var peerExtra = false
    var peersDirectory: String?
    var showHelp = false
    var listKnobs = false
    /// `--ingest-latency`: time `Pipeline.ingest` of 100-event bodies with a spool in each sync mode.
    var ingestLatency = false
    var ingestBodies = 2000

    /// The configurations to measure: the cartesian product of `--sweep`s, or the default plan without any.
    var configurations: [BenchSettings] {
        sweeps.isEmpty ? SweepPlan.oneAtATime(base: baseline, axes: SweepPlan.defaultAxes)
            : SweepPlan.cartesian(base: baseline, axes: sweeps)
    }

    static func parse(_ arguments: [String]) throws(BenchUsageError) -> BenchCommand {
        var command = BenchCommand()
        var index = 0
        func value(_ flag: String) throws(BenchUsageError) -> String {
            index += 1
            guard index < arguments.count else { throw BenchUsageError("\(flag) needs a value") }
            return arguments[index]
        }
        func number(_ flag: String, min: Int) throws(BenchUsageError) -> Int {
            let text = try value(flag)
            guard let n = parseInt(text), n >= min else { throw BenchUsageError("\(flag): expected a number >= \(min), got \"\(text)\"") }
            return n
        }
        func set(_ name: String, _ text: String) throws(BenchUsageError) {
            guard let knob = Knob.named(name) else { throw BenchUsageError("unknown knob \"\(name)\" (see --list-knobs)") }
            guard knob.set(&command.baseline, text) else { throw BenchUsageError("\(name): bad value \"\(text)\" (\(knob.help))") }
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "-h", "--help": command.showHelp = true
            case "--list-knobs": command.listKnobs = true
            case "--sweep":
                switch SweepAxis.parse(try value(argument)) {
                case .success(let axis): command.sweeps.append(axis)
                case .failure(let error): throw error
                }
            case "--set":
                let assignment = try value(argument)
                guard let eq = assignment.firstIndex(of: "=") else { throw BenchUsageError("--set wants knob=value") }
                try set(String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...]))
            case "--repetitions", "-n": command.repetitions = try number(argument, min: 1)
            case "--warmup": command.warmups = try number(argument, min: 0)
            case "--in-process": command.inProcess = true
            case "--input": command.inputFile = try value(argument)
            case "--json": command.jsonPath = try value(argument)
            case "--compare": command.comparePath = try value(argument)
            case "--no-micro": command.runMicro = false
            case "--micro-only": command.runPipelines = false
            case "--quick":
                command.baseline.events = 20_000
                command.repetitions = 2
                command.micro = MicroSuite(events: 20_000, jsonLines: 2000, channelElements: 10_000, repetitions: 2)
            case "--ingest-latency": command.ingestLatency = true
            case "--ingest-bodies": command.ingestBodies = try number(argument, min: 1)
            case "--peers": command.peers = true
            case "--peer-events": command.peerEvents = try number(argument, min: 1)
            case "--peer-runs": command.peerRuns = try number(argument, min: 1)
            case "--peer-extra": command.peerExtra = true
            case "--peers-dir": command.peersDirectory = try value(argument)
            default:
                // Any knob as `--name value` or `--name=value`.
                guard argument.hasPrefix("--") else { throw BenchUsageError("unexpected argument \"\(argument)\"") }
                let flag = argument.dropFirst(2)
                if let eq = flag.firstIndex(of: "=") {
                    try set(String(flag[..<eq]), String(flag[flag.index(after: eq)...]))
                } else if Knob.named(String(flag)) != nil {
                    try set(String(flag), try value(argument))
                } else {
                    throw BenchUsageError("unknown option \(argument) (see --help)")
                }
            }
            index += 1
        }
        return command
    }

    static let help = """
    sluice-bench: throughput of the Sluice pipeline under its tuning knobs, and stage micro-benchmarks.

    usage: swift run -c release sluice-bench [options]

    With no options it runs the default plan (the baseline, then each knob varied alone around it), then the
    micro-benchmarks, and prints both tables on stdout (progress on stderr). Each configuration runs in its own
    child process (so its peak RSS is its own): warm-up run(s), then timed repetitions.

    configurations
      --sweep KNOB=V1,V2,...   sweep a knob; several --sweep flags give their cartesian product
      --set KNOB=VALUE         change the baseline (also: --KNOB VALUE or --KNOB=VALUE)
      --list-knobs             list the knobs and their defaults
      --input FILE             read this NDJSON file instead of generated input (counts then unchecked)
    measurement
      --repetitions N, -n N    timed repetitions per configuration (default 3)
      --warmup N               untimed warm-up runs per configuration (default 1)
      --in-process             measure in this process (no children; peak RSS becomes an upper bound)
      --quick                  tiny workload (20k events, 2 repetitions): checks the harness, not the engine
      --no-micro | --micro-only
    output
      --json FILE              write every figure (and raw repetitions) as JSON
      --compare BASELINE.json  print ratios of this run to an earlier --json file
    peers
      --ingest-latency         only time Pipeline.ingest of 100-event bodies with a spool (sync always,
                               interval, none) and without; --ingest-bodies N (default 2000)
      --peers                  only compare `sluice --format segment` with the orjson peer (orjson_relay.py)
      --peers-dir DIR          where the peer programs are (default: shared/bench beside the package directory)
      --peer-events N          events in the peer input (default 300000)
      --peer-runs N            timed runs per program, best reported (default 3)
      --peer-extra             also jq_relay.sh and mlr_relay.sh (when installed)
    relay
      --serve                  only drive the real `sluice serve` over loopback with a built-in keep-alive client:
                               100-event gzip log_event bodies (events/s, latency p50/p99, peak RSS), then 200
                               clients with 4 MB bodies (answers by status, peak RSS); --serve-seconds S
                               (default 10), --serve-connections C (default 32)
    """

    static func knobList() -> String {
        let base = BenchSettings()
        return Knob.all.map { knob in
            let aliases = knob.aliases.isEmpty ? "" : " (\(knob.aliases.joined(separator: ", ")))"
            return "  \(TextFormat.pad(knob.name + aliases, 36)) default \(TextFormat.pad(knob.get(base), 9)) \(knob.help)"
        }.joined(separator: "\n")
    }
}
