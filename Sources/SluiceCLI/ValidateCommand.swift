import Foundation
import Sluice

/// `sluice validate --config FILE`: checks a configuration and says exactly what is wrong.
enum ValidateCommand {
    static func run(configPath: String) -> Int32 {
        do {
            let configuration = try ConfigurationLoader.load(contentsOfFile: configPath)
            let names = configuration.destinations.map { "\($0.name) (\($0.kind.typeName))" }
            print("\(configPath): valid; destinations: \(names.joined(separator: ", "))")
            return 0
        } catch {
            StandardError.write("sluice: \(configPath): \(error)")
            return 2
        }
    }
}
