#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Sluice

// SIGINT and SIGTERM are caught from here on, so none is lost before a run has set up its drain.
SignalWaiter.start()
// A closed pipe downstream (`sluice | head`) must surface as a write error the engine accounts for, not kill
// the process before it can drain and print its summary.
signal(SIGPIPE, SIG_IGN)
// Likewise a file size limit (`ulimit -f`): a write past it must fail with EFBIG, which is reported and counted,
// instead of SIGXFSZ killing the process without a summary.
signal(SIGXFSZ, SIG_IGN)

let command: Command
do {
    command = try Command.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    StandardError.write(error.description)
    StandardError.write("Try 'sluice --help'.")
    exit(2)
}

switch command {
case .help(let topic):
    print(HelpText.text(for: topic))
case .version:
    print("sluice \(SluiceVersion.string)")
case .validate(let path):
    exit(ValidateCommand.run(configPath: path))
case .generate(let options):
    exit(GenerateCommand.run(options))
case .run(let options):
    // From here the pipeline may hold accepted input: a signal waits for the run's drain handler.
    SignalWaiter.holdUntilHandled()
    exit(await RunCommand.run(options))
}
