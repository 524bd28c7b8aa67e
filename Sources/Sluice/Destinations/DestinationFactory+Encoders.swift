/// Which encoder writes each destination's bodies.
extension DestinationFactory {
    func makeEncoder(for destination: DestinationConfiguration) throws -> any EventEncoder {
        switch destination.kind.format {
        case .statsig: return StatsigExportLinesEncoder()
        default:
            throw PipelineError("destinations \"\(destination.name)\": format \(destination.kind.format.rawValue) is not available in this build")
        }
    }
}
