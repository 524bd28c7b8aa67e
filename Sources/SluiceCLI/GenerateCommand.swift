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
        generatorOptions.events = options.events
        generatorOptions.duplicateRate = options.dupRate
        generatorOptions.invalidRate = options.invalidRate
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
