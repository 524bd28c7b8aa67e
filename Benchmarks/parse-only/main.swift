// Parse-only A/B harness for the JSON reader: every line of an NDJSON file through `JSONReader.parse`, on one
// thread, timed in process CPU time; prints the best of N rounds in ns per line. It is compiled by
// `Benchmarks/parse-only/ab.sh` together with the reader's source files of one revision (not through SwiftPM),
// so two revisions of the reader can be compared in seconds, without the pipeline's threads, I/O and allocation
// that make whole-run CPU figures swing by 30-50% on a shared machine.
import Glibc

let arguments = CommandLine.arguments
guard arguments.count >= 2, let file = fopen(arguments[1], "rb") else {
    fputs("usage: parse-only FILE.ndjson [ROUNDS]\n", stderr)
    exit(2)
}
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
fseek(file, 0, SEEK_END)
let size = ftell(file)
fseek(file, 0, SEEK_SET)
let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
guard fread(buffer, 1, size, file) == size else { fputs("short read\n", stderr); exit(1) }
fclose(file)

var lines: [(start: Int, count: Int)] = []
var lineStart = 0
let bytes = buffer.assumingMemoryBound(to: UInt8.self)
for i in 0..<size where bytes[i] == 0x0A {
    lines.append((lineStart, i - lineStart))
    lineStart = i + 1
}

func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    let whole = Double(t.tv_sec)
    return whole + Double(t.tv_nsec) / 1e9
}

var reader = JSONReader()
var best = Double.infinity
var nodes = 0, invalid = 0
for _ in 0..<rounds {
    let start = cpuSeconds()
    for line in lines {
        do {
            try reader.parse(UnsafeRawBufferPointer(start: buffer + line.start, count: line.count))
            nodes &+= reader.nodeCount
        } catch {
            invalid += 1
        }
    }
    best = min(best, cpuSeconds() - start)
}
let perLine = best * 1e9 / Double(max(lines.count, 1))
print("\(Int(perLine.rounded())) ns/line (best of \(rounds), \(lines.count) lines, \(nodes / rounds) nodes, \(invalid / rounds) invalid)")
