/// Which sender delivers each destination's batches.
extension DestinationFactory {
    func makeSender(for destination: DestinationConfiguration) throws -> any BatchSender {
        switch destination.kind {
        case .stdout:
            return FileDescriptorSender(sink: standardOutput)
        case .file(let path, _):
            do {
                return FileDescriptorSender(sink: try FileDescriptorSink(appendingTo: path))
            } catch {
                throw PipelineError("destinations \"\(destination.name)\": \(error)")
            }
        default:
            throw PipelineError("destinations \"\(destination.name)\": type \(destination.kind.typeName) is not available in this build")
        }
    }
}
