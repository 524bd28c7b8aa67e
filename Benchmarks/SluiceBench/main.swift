import Foundation
import Sluice

// Temporary runner until the harness lands: `sluice-bench --json-micro <ndjson> [target-lines] [repetitions]`.
let arguments = CommandLine.arguments
if arguments.count >= 3, arguments[1] == "--json-micro" {
    guard let text = FileManager.default.contents(atPath: arguments[2]) else {
        FileHandle.standardError.write(Data("cannot read \(arguments[2])\n".utf8))
        exit(2)
    }
    let target = arguments.count > 3 ? Int(arguments[3]) ?? 100_000 : 100_000
    let repetitions = arguments.count > 4 ? Int(arguments[4]) ?? 5 : 5
    let base = text.split(separator: UInt8(ascii: "\n")).filter { !$0.isEmpty }.map { Array($0) }
    var lines: [[UInt8]] = []
    lines.reserveCapacity(target)
    while lines.count < target && !base.isEmpty { lines.append(base[lines.count % base.count]) }
    print("sluice-bench \(SluiceVersion.string): JSON micro-benchmark, \(lines.count) lines, \(repetitions) repetitions")
    print(runJSONReadBenchmark(lines: lines, repetitions: repetitions).report)
} else {
    print("sluice-bench \(SluiceVersion.string)")
    print("usage: sluice-bench --json-micro <file.ndjson> [lines=100000] [repetitions=5]")
}
