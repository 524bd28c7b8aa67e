/// Names experiment exposures the way Statsig's own Segment and Heap integrations do.
///
/// SDKs log `getExperiment` as `statsig::config_exposure`; when the config is an experiment (the project's
/// specs say `entity: "experiment"`, or an `experiments` pattern matches), the event becomes
/// `statsig::experiment_exposure` (category ``EventCategory/experimentExposure``) whatever the rule: targeting,
/// prestart and layer-assignment exposures are still exposures of the experiment. Only when `metadata.ruleID`
/// names an experiment-group rule does `metadata.experimentGroupName` get the group's name. A layer exposure
/// stays a layer exposure and gets the group of its `metadata.allocatedExperiment` the same way.
///
/// Runs at decode time, before the filter, so category selections see the new category. The event's
/// de-duplication key is derived from the original bytes, so renaming never changes it.
extension InputDecoder {
    /// The renamed event name, if any, and the metadata with the group name, if one was added.
    struct ExperimentNaming {
        var eventName: ByteSpan?
        var category: EventCategory?
        var metadata: ByteSpan?
    }

    func experimentNaming(_ view: JSONView, category: EventCategory, metadata: Int?, catalog: ExperimentCatalog,
                          chunk: inout EventChunk) -> ExperimentNaming {
        var naming = ExperimentNaming()
        guard let metadata, view.kind(metadata) == .object else { return naming }
        let experimentKey: StaticString = category == .configExposure ? "config" : "allocatedExperiment"
        guard let experimentNode = view.member(metadata, experimentKey), view.kind(experimentNode) == .string,
              view.nodes[experimentNode].end - view.nodes[experimentNode].start > 2 else { return naming }
        let ruleID = view.member(metadata, "ruleID").flatMap { view.kind($0) == .string ? view.unescapedString($0) : nil }
        let lookup = catalog.lookup(experiment: view.unescapedString(experimentNode), ruleID: ruleID, specs: catalog.specs)
        guard lookup.isExperiment else { return naming }
        if category == .configExposure {
            naming.eventName = chunk.appendToArena(Self.experimentExposureName)
            naming.category = .experimentExposure
        }
        if let group = lookup.groupName, view.member(metadata, "experimentGroupName") == nil {
            naming.metadata = Self.appendMember(to: view, object: metadata, key: "experimentGroupName", value: group, chunk: &chunk)
        }
        return naming
    }

    /// Client SDK initialize records list `metadata.experiments` as experiment -> assignment; some SDKs give the
    /// rule ID there rather than the group. With specs, a rule ID that names a group is replaced by the group's
    /// name, so Heap's "Statsig Experiments" event carries group names. Returns the new metadata, or nil.
    func initializeGroupNames(_ view: JSONView, metadata: Int?, catalog: ExperimentCatalog,
                              chunk: inout EventChunk) -> ByteSpan? {
        guard let metadata, view.kind(metadata) == .object, let specs = catalog.specs,
              let experiments = view.member(metadata, "experiments"), view.kind(experiments) == .object else { return nil }
        var replacements: [Int: String] = [:]
        view.forEachMember(of: experiments) { key, value in
            guard view.kind(value) == .string,
                  let group = specs.groupName(experiment: view.unescapedString(key), ruleID: view.unescapedString(value))
            else { return }
            replacements[value] = group
        }
        guard !replacements.isEmpty else { return nil }
        let start = chunk.arena.count
        func copy(_ node: Int) {
            if let group = replacements[node] {
                chunk.arena.withJSONWriter { $0.appendString(group) }
            } else if node == experiments || node == metadata {
                chunk.arena.append(UInt8(ascii: "{"))
                var first = true
                view.forEachMember(of: node) { k, v in
                    if !first { chunk.arena.append(UInt8(ascii: ",")) }
                    first = false
                    chunk.arena.append(contentsOf: view.raw(k))
                    chunk.arena.append(UInt8(ascii: ":"))
                    copy(v)
                }
                chunk.arena.append(UInt8(ascii: "}"))
            } else {
                chunk.arena.append(contentsOf: view.raw(node))
            }
        }
        copy(metadata)
        return ByteSpan(start: start, count: chunk.arena.count - start)
    }

    private static let experimentExposureName = Array("\"statsig::experiment_exposure\"".utf8)

    /// Copies object `node` into the arena with one more string member at the end.
    private static func appendMember(to view: JSONView, object node: Int, key: StaticString, value: String,
                                     chunk: inout EventChunk) -> ByteSpan {
        let start = chunk.arena.count
        chunk.arena.append(UInt8(ascii: "{"))
        var first = true
        view.forEachMember(of: node) { k, v in
            if !first { chunk.arena.append(UInt8(ascii: ",")) }
            first = false
            chunk.arena.append(contentsOf: view.raw(k))
            chunk.arena.append(UInt8(ascii: ":"))
            chunk.arena.append(contentsOf: view.raw(v))
        }
        if !first { chunk.arena.append(UInt8(ascii: ",")) }
        chunk.arena.append(UInt8(ascii: "\""))
        chunk.arena.append(contentsOf: UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        chunk.arena.appendLiteral("\":")
        chunk.arena.withJSONWriter { $0.appendString(value) }
        chunk.arena.append(UInt8(ascii: "}"))
        return ByteSpan(start: start, count: chunk.arena.count - start)
    }
}
