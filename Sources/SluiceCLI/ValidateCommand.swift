import Foundation
import Sluice

/// `sluice validate --config FILE`: checks a configuration and says exactly what is wrong, every problem at once
/// (one line each), so a file can be fixed in one pass.
enum ValidateCommand {
    static func run(configPath: String) -> Int32 {
        switch ConfigurationLoader.check(contentsOfFile: configPath) {
        case .success(let configuration):
            let names = configuration.destinations.map { "\($0.name) (\($0.kind.typeName))" }
            print("\(configPath): valid; destinations: \(names.joined(separator: ", "))")
            return 0
        case .failure(let problems):
            for problem in problems.errors { StandardError.write("sluice: \(configPath): \(problem)") }
            if problems.errors.count > 1 { StandardError.write("sluice: \(configPath): \(problems.errors.count) problems") }
            return 2
        }
    }
}
