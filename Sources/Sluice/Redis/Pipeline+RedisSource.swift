extension Pipeline {
    /// What the Redis Streams source has done so far; nil when the input is not a Redis stream.
    public var redisSourceStatistics: RedisSourceStatistics? { redisSource?.statistics }

    /// Runs the Redis source until it stops (idle exit, drain, or an error retrying cannot fix, which is
    /// reported as the input failure).
    func readRedis(_ source: RedisStreamSource) async {
        let tracker = makeSettlementTracker(receiver: source)
        do {
            try await source.read(into: self, tracker: tracker)
        } catch {
            inputError.withLock { $0 = "\(error)" }
        }
    }
}
