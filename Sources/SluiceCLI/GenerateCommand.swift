#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Sluice

/// `sluice generate`: synthetic Statsig export events, deterministic for a seed.
enum GenerateCommand {
    static func run(_ options: GenerateOptions) -> Int32 {
        var generatorOptions = EventGenerator.Options()
        // `--events N` is the number of lines written; the rates are fractions of those lines.
        let lines = LineCounts(lines: options.events, dupRate: options.dupRate, invalidRate: options.invalidRate)
        generatorOptions.events = lines.events
        generatorOptions.exactInvalidLines = lines.invalid
        generatorOptions.duplicateRate = lines.events > 0 ? Double(lines.duplicates) / Double(lines.events) : 0
        generatorOptions.seed = options.seed
        generatorOptions.users = options.users
        let generator = EventGenerator(options: generatorOptions)

        var fd: Int32 = 1
        if let path = options.outputPath, path != "-" {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                StandardError.write("sluice: --output: cannot open \(path): \(String(cString: strerror(errno)))")
                return 2
            }
        }
        defer { if fd != 1 { close(fd) } }
        struct WriteFailed: Error { let message: String }
        do {
            _ = try generator.write { block in
                var offset = 0
                while offset < block.count {
                    let n = write(fd, block.baseAddress! + offset, block.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw WriteFailed(message: String(cString: strerror(errno)))
                    }
                    offset += n
                }
            }
        } catch let failure as WriteFailed {
            // A reader that stops early (`| head`) is not an error worth a stack of messages.
            if failure.message.contains("pipe") { return 0 }
            StandardError.write("sluice: generate: write failed: \(failure.message)")
            return 1
        } catch {
            return 1
        }
        return 0
    }
}

/// How `sluice generate --events N` splits its N lines: `round(N × invalid-rate)` broken lines,
/// `round(N × dup-rate)` duplicates (an event needs an original, so at least one distinct event when there are
/// events at all), and the rest distinct events.
struct LineCounts: Equatable {
    /// Valid event lines (distinct events plus duplicates).
    let events: Int
    /// Lines that repeat an earlier event.
    let duplicates: Int
    /// Broken lines.
    let invalid: Int

    init(lines: Int, dupRate: Double, invalidRate: Double) {
        let total = max(0, lines)
        invalid = min(total, Int(Double(total) * min(max(invalidRate, 0), 1) + 0.5))
        events = total - invalid
        duplicates = events == 0 ? 0 : min(events - 1, Int(Double(total) * min(max(dupRate, 0), 1) + 0.5))
    }
}
