/// The Prometheus text exposition format (version 0.0.4) of a pipeline's ``MetricsSnapshot`` and, when
/// serving, the HTTP listener's ``HTTPServerStats``: what `GET /metrics` answers.
public enum PrometheusExposition {
    /// The `Content-Type` of the exposition.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders the metrics; `server` adds the request and connection families.
    public static func render(_ metrics: MetricsSnapshot, server: HTTPServerStats.Snapshot? = nil) -> String {
        var out = Output()
        out.family("sluice_up", "gauge", "1 while the pipeline accepts input, 0 while it drains or has finished.")
        out.sample("sluice_up", value: metrics.phase == .running ? 1 : 0)
        out.family("sluice_phase", "gauge", "The pipeline's phase (1 for the current one).")
        for phase in ["notStarted", "running", "draining", "finished"] {
            out.sample("sluice_phase", ["phase": phase], value: metrics.phase.rawValue == phase ? 1 : 0)
        }
        out.counter("sluice_events_ingested_total", "Events decoded from input (a batch counts its events).", metrics.ingested)
        out.counter("sluice_events_invalid_total", "Invalid lines or events.", metrics.invalid)
        out.counter("sluice_events_duplicate_total", "Events dropped as repeats of an earlier timeUUID.", metrics.duplicates)
        out.counter("sluice_events_filtered_total", "Events removed by the global filter.", metrics.filtered)
        out.family("sluice_queue_chunks", "gauge", "Event chunks waiting in the first queue (decoded, not yet de-duplicated).")
        out.sample("sluice_queue_chunks", ["queue": "ingest"], value: Double(metrics.queuedChunks))
        out.family("sluice_pending_events", "gauge", "Events accepted and not yet settled, all destinations together.")
        out.sample("sluice_pending_events", value: Double(metrics.pending))

        let names = metrics.destinations.keys.sorted()
        out.family("sluice_destination_events_total", "counter", "Events settled per destination, by outcome.")
        for name in names {
            let d = metrics.destinations[name]!
            for (outcome, count) in [("delivered", d.delivered), ("filtered", d.filtered), ("dead_lettered", d.deadLettered), ("dropped", d.dropped)] {
                out.sample("sluice_destination_events_total", ["destination": name, "outcome": outcome], value: Double(count))
            }
        }
        let perDestination: [(String, String, String, (MetricsSnapshot.DestinationMetrics) -> Int)] = [
            ("sluice_destination_requests_total", "counter", "Requests or writes made, retries included.", { $0.requests }),
            ("sluice_destination_retries_total", "counter", "Attempts beyond the first.", { $0.retries }),
            ("sluice_destination_failed_requests_total", "counter", "Batches whose last attempt failed.", { $0.failedRequests }),
            ("sluice_destination_in_flight_requests", "gauge", "Batches being sent now.", { $0.inFlight }),
            ("sluice_destination_pending_events", "gauge", "Events this destination has not settled yet.", { $0.pending }),
        ]
        for (metric, type, help, value) in perDestination {
            out.family(metric, type, help)
            for name in names { out.sample(metric, ["destination": name], value: Double(value(metrics.destinations[name]!))) }
        }
        out.family("sluice_destination_queue_depth", "gauge", "Work waiting inside a destination's branch, by queue.")
        for name in names {
            let d = metrics.destinations[name]!
            out.sample("sluice_destination_queue_depth", ["destination": name, "queue": "mapper_chunks"], value: Double(d.queuedChunks))
            out.sample("sluice_destination_queue_depth", ["destination": name, "queue": "batcher"], value: Double(d.queuedForBatcher))
            out.sample("sluice_destination_queue_depth", ["destination": name, "queue": "batches"], value: Double(d.queuedBatches))
        }
        out.family("sluice_dedupe_keys", "gauge", "Event IDs the de-duplication table remembers.")
        out.sample("sluice_dedupe_keys", value: Double(metrics.dedupe.size))
        out.family("sluice_dedupe_evictions_total", "counter", "Event IDs forgotten, by cause.")
        out.sample("sluice_dedupe_evictions_total", ["cause": "capacity"], value: Double(metrics.dedupe.capacityEvictions))
        out.sample("sluice_dedupe_evictions_total", ["cause": "window"], value: Double(metrics.dedupe.windowEvictions))
        out.family("sluice_dedupe_memory_bytes", "gauge", "Approximate bytes the de-duplication table holds.")
        out.sample("sluice_dedupe_memory_bytes", value: Double(metrics.dedupe.memoryBytes))
        if let latency = metrics.latency {
            out.family("sluice_delivery_latency_seconds", "summary", "Ingest-to-delivery latency of delivered events.")
            out.sample("sluice_delivery_latency_seconds", ["quantile": "0.5"], value: latency.p50)
            out.sample("sluice_delivery_latency_seconds", ["quantile": "0.99"], value: latency.p99)
            out.sample("sluice_delivery_latency_seconds", ["quantile": "1"], value: latency.max)
        }
        out.text += RedisExposition.render(metrics)
        out.family("sluice_elapsed_seconds", "gauge", "Seconds since the pipeline started.")
        out.sample("sluice_elapsed_seconds", value: metrics.elapsedSeconds)

        if let server {
            out.family("sluice_http_requests_total", "counter", "HTTP requests answered, by route and status code.")
            for key in server.requests.keys.sorted() {
                out.sample("sluice_http_requests_total", ["route": key.route, "status": String(key.status)], value: Double(server.requests[key]!))
            }
            out.family("sluice_http_request_duration_seconds", "histogram", "Time from a request's first byte to its answer.")
            for (index, bound) in HTTPServerStats.durationBuckets.enumerated() {
                out.sample("sluice_http_request_duration_seconds_bucket", ["le": Output.number(bound)], value: Double(server.durationBucketCounts[index]))
            }
            let count = server.durationBucketCounts.last ?? 0
            out.sample("sluice_http_request_duration_seconds_bucket", ["le": "+Inf"], value: Double(count))
            out.sample("sluice_http_request_duration_seconds_sum", value: server.durationSum)
            out.sample("sluice_http_request_duration_seconds_count", value: Double(count))
            out.family("sluice_http_requests_in_flight", "gauge", "Requests being handled now.")
            out.sample("sluice_http_requests_in_flight", value: Double(server.inFlight))
            out.family("sluice_http_connections", "gauge", "Client connections open now.")
            out.sample("sluice_http_connections", value: Double(server.openConnections))
            out.counter("sluice_http_connections_accepted_total", "Client connections accepted since start.", server.acceptedConnections)
        }
        return out.text
    }

    private struct Output {
        var text = ""

        mutating func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }

        mutating func counter(_ name: String, _ help: String, _ value: Int) {
            family(name, "counter", help)
            sample(name, value: Double(value))
        }

        mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String> = [:], value: Double) {
            text += name
            if !labels.isEmpty {
                text += "{" + labels.map { "\($0.key)=\"\(Output.escape($0.value))\"" }.joined(separator: ",") + "}"
            }
            text += " " + Output.number(value) + "\n"
        }

        static func number(_ value: Double) -> String {
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
            if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
            return String(value)
        }

        /// Label values escape backslash, double quote and newline.
        static func escape(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
