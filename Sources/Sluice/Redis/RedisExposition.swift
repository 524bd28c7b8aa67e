/// The Redis families of `GET /metrics` (Prometheus text format): the Redis Streams source's counters and
/// shared de-duplication's, present only when the run uses them.
enum RedisExposition {
    static func render(_ metrics: MetricsSnapshot) -> String {
        var text = ""
        func family(_ name: String, _ type: String, _ help: String) { text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        func sample(_ name: String, _ label: (String, String)? = nil, value: Int) {
            text += name + (label.map { "{\($0.0)=\"\($0.1)\"}" } ?? "") + " \(value)\n"
        }
        if let source = metrics.redisSource {
            family("sluice_redis_source_entries_total", "counter", "Stream entries handled by the Redis source, by what happened.")
            for (outcome, value) in [("read", source.entriesRead), ("acknowledged", source.acknowledged), ("claimed", source.claimed),
                                     ("reread_own_pending", source.reread), ("over_delivery_limit", source.overDeliveryLimit),
                                     ("trimmed", source.trimmed), ("left_pending", source.leftPending),
                                     ("not_acknowledgeable", source.notAcknowledgeable)] {
                sample("sluice_redis_source_entries_total", ("outcome", outcome), value: value)
            }
            family("sluice_redis_source_groups_recreated_total", "counter", "Times the consumer group was gone (NOGROUP) and was created again.")
            sample("sluice_redis_source_groups_recreated_total", value: source.groupsRecreated)
            family("sluice_redis_reconnects_total", "counter", "Connections to Redis made again after one was lost (source).")
            sample("sluice_redis_reconnects_total", value: source.reconnects)
            family("sluice_redis_connection_failures_total", "counter", "Redis commands that failed with a connection error (source; retried).")
            sample("sluice_redis_connection_failures_total", value: source.connectionFailures)
        }
        if let shared = metrics.sharedDedupe {
            family("sluice_shared_dedupe_events_total", "counter", "Events seen by shared de-duplication, by result.")
            for (result, value) in [("claimed", shared.claimed), ("duplicate", shared.duplicates), ("own_claim", shared.ownClaimsFound),
                                    ("unchecked", shared.unchecked)] {
                sample("sluice_shared_dedupe_events_total", ("result", result), value: value)
            }
            family("sluice_shared_dedupe_failures_total", "counter", "Shared de-duplication round trips that failed (then per-instance for 1 s).")
            sample("sluice_shared_dedupe_failures_total", value: shared.failures)
        }
        return text
    }
}
