/// Which encoder writes each destination's bodies.
extension DestinationFactory {
    func makeEncoder(for destination: DestinationConfiguration, counters: DestinationCounters = DestinationCounters()) throws -> any EventEncoder {
        let numericUserID = destination.identifiers.heapUserId != nil
        switch destination.kind {
        case .redisStream(let redis):
            switch redis.format {
            case .statsig: return StatsigExportLinesEncoder()
            case .segment: return SegmentFormat(framing: .lines)
            case .heap: return HeapFormat(appID: nil)
            }
        case .stdout(let format), .file(_, let format):
            switch format {
            case .statsig: return StatsigExportLinesEncoder()
            case .segment: return SegmentFormat(framing: .lines)
            case .heap: return HeapFormat(appID: nil, counters: counters, numericUserID: numericUserID)
            }
        case .segment: return SegmentFormat(framing: .batch)
        case .heap(_, let appID): return HeapFormat(appID: appID, counters: counters, numericUserID: numericUserID)
        case .statsig: return StatsigLogEventFormat()
        case .statsigIDLists: return StatsigIDListFormat()
        case .webhook: return WebhookFormat()
        }
    }
}
