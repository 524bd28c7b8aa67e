/// Builds each configured destination's encoder, sender and identity rules.
struct DestinationFactory {
    let options: PipelineOptions
    let redactor: Redactor
    let standardOutput: FileDescriptorSink

    init(options: PipelineOptions, redactor: Redactor) {
        self.options = options
        self.redactor = redactor
        self.standardOutput = FileDescriptorSink(fd: options.standardOutput)
    }

    func parts(for destination: DestinationConfiguration) throws -> DestinationBranch.Parts {
        let sender: any BatchSender
        switch destination.kind {
        case .stdout:
            sender = FileDescriptorSender(sink: standardOutput)
        case .file(let path, _):
            do {
                sender = FileDescriptorSender(sink: try FileDescriptorSink(appendingTo: path))
            } catch {
                throw PipelineError("destinations \"\(destination.name)\": \(error)")
            }
        default:
            throw PipelineError("destinations \"\(destination.name)\": type \(destination.kind.typeName) is not available in this build")
        }
        return DestinationBranch.Parts(
            name: destination.name, selection: destination.events, rule: Self.rule(for: destination),
            encoder: try encoder(for: destination), sender: sender, batch: destination.batch,
            concurrency: destination.concurrency, overflow: destination.overflow)
    }

    func encoder(for destination: DestinationConfiguration) throws -> any EventEncoder {
        switch destination.kind.format {
        case .statsig: return StatsigExportLinesEncoder()
        default:
            throw PipelineError("destinations \"\(destination.name)\": format \(destination.kind.format.rawValue) is not available in this build")
        }
    }

    static func rule(for destination: DestinationConfiguration) -> IdentityRule {
        if case .statsigIDLists = destination.kind { return .audience }
        switch destination.kind.format {
        case .statsig: return .none
        case .segment:
            return .segment(userId: IdentifierSource(destination.identifiers.userId),
                            anonymousId: destination.identifiers.anonymousId.map(IdentifierSource.init))
        case .heap: return .heap(identity: IdentifierSource(destination.identifiers.identity))
        }
    }
}

extension DestinationFactory {
    /// A destination supplied in code.
    func parts(for registration: CustomDestinationRegistration) throws -> DestinationBranch.Parts {
        DestinationBranch.Parts(
            name: registration.name, selection: registration.events, rule: .none,
            encoder: StatsigExportLinesEncoder(),
            sender: CustomDestinationSender(destination: registration.destination, retry: registration.retry),
            batch: registration.batch, concurrency: registration.concurrency, overflow: registration.overflow)
    }
}
