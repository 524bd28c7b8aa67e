/// Builds each configured destination's encoder, sender and identity rules.
struct DestinationFactory {
    let options: PipelineOptions
    let redactor: Redactor
    let standardOutput: FileDescriptorSink
    let notices: Notices

    init(options: PipelineOptions, redactor: Redactor, notices: Notices = Notices()) {
        self.options = options
        self.redactor = redactor
        self.notices = notices
        self.standardOutput = FileDescriptorSink(fd: options.standardOutput, notices: notices)
    }

    func parts(for destination: DestinationConfiguration) throws -> DestinationBranch.Parts {
        DestinationBranch.Parts(
            name: destination.name, selection: destination.events, rule: Self.rule(for: destination),
            encoder: try makeEncoder(for: destination), sender: try makeSender(for: destination),
            batch: destination.batch, concurrency: Self.concurrency(for: destination), overflow: destination.overflow)
    }

    /// ID-list changes must apply in input order (an add then a remove must not swap), so they go one request
    /// at a time whatever `concurrency` says; everything else overlaps up to `concurrency` requests.
    static func concurrency(for destination: DestinationConfiguration) -> Int {
        if case .statsigIDLists = destination.kind { return 1 }
        return destination.concurrency
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
