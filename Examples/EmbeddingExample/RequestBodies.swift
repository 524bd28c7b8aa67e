import Foundation
import Sluice

/// Where the example's request bodies come from: files (each one body), directories of them, or generated.
enum RequestBodies {
    static func load(arguments: [String]) throws -> [[UInt8]] {
        guard !arguments.isEmpty else { return generated() }
        var bodies: [[UInt8]] = []
        for path in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path])
            }
            let files = isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { "\(path)/\($0)" }
                : [path]
            for file in files { bodies.append(Array(try Data(contentsOf: URL(fileURLWithPath: file)))) }
        }
        return bodies
    }

    /// 50,000 synthetic Statsig events (3% duplicates, a few broken lines) as 200 NDJSON bodies.
    static func generated() -> [[UInt8]] {
        let options = EventGenerator.Options(events: 50_000, duplicateRate: 0.03, invalidRate: 0.0001, seed: 42)
        let lines = EventGenerator(options: options).generate().bytes.split(separator: UInt8(ascii: "\n"))
        return stride(from: 0, to: lines.count, by: 250).map { start in
            lines[start..<min(start + 250, lines.count)].reduce(into: [UInt8]()) { $0 += $1; $0.append(0x0A) }
        }
    }
}
