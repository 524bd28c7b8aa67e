import Sluice

/// The `--help` pages, written for someone who has never run `sluice`: what the command does, every flag, and
/// examples to copy.
enum HelpText {
    /// The page for a command.
    static func text(for topic: HelpTopic) -> String {
        switch topic {
        case .run: run
        case .generate: generate
        case .validate: validate
        case .serve: serve
        }
    }

    static let run = """
        sluice \(SluiceVersion.string): forward analytics events between Statsig, Segment and Heap.

        USAGE
          sluice [OPTIONS] < events.ndjson
          sluice generate --events N [OPTIONS]
          sluice validate --config FILE
          sluice serve [--listen HOST:PORT] [OPTIONS]

        Reads newline-delimited JSON: Statsig events, log_event bodies and webhook batches, Segment messages and
        batch bodies (detected line by line). Duplicate events (same timeUUID) are dropped, internal statsig::
        events are filtered out, and every other event is delivered to the configured destinations. Without
        --config, events go to standard output in Statsig's export format, one JSON object per line. Broken
        lines are reported on standard error and skipped; a summary is printed there at the end.

        OPTIONS
          --config FILE            Pipeline configuration (JSON): dedupe, filters, destinations such as
                                   Segment, Heap, Statsig or a webhook. Check one with `sluice validate`.
          --input FILE             Read events from FILE instead of standard input (`-` is standard input).
          --input redis://HOST:PORT[/DB]?stream=S&group=G&consumer=C
                                   Read a Redis stream through a consumer group; entries are acknowledged
                                   once every destination settled them (password: config or REDIS_PASSWORD)
          --exit-when-idle SECONDS With a Redis input: exit 0 once no new entry arrived for SECONDS and
                                   the group has nothing pending (backfills, batch jobs)
          --format FORMAT          Output format of the default stdout destination: statsig (default),
                                   segment or heap. Ignored when the configuration names destinations.
          --dry-run                HTTP destinations send nothing; each request is printed to standard output
                                   as one JSON line: credentials masked, event data unchanged.
          --summary FILE           Also write the final summary (counts per destination) to FILE as JSON.
          --dead-letter FILE       Append invalid lines and undeliverable events to FILE, with a reason
                                   (event data unchanged, so the file can be replayed). Both paths are
                                   checked before any input is read (exit 2 if unwritable).
                                   A dead-letter file is valid input: feed it back (--input FILE) once
                                   the outage is over and each event is sent again with its timeUUID.
          --replay-destination NAME  When replaying a dead-letter file, send only to destination NAME:
                                   records of other destinations and the other destinations filter them.
          --no-dedupe              Keep duplicate events.
          --quiet                  Print nothing on standard error except errors.
          --stats-interval SECONDS Print a progress line on standard error every SECONDS (e.g. 1 or 0.5).
          --drain-timeout SECONDS  On shutdown, wait at most SECONDS for batches to flush (default 30).
          --metrics-listen HOST:PORT
                                   Serve GET /healthz and GET /metrics (Prometheus text) on HOST:PORT while
                                   the run lasts.
          --spool DIR              Write input to the disk spool DIR before it enters the pipeline; a run
                                   after a crash delivers what was not settled, and with --input FILE it
                                   continues in FILE where the spool left off. What misses the drain
                                   deadline stays in DIR for the next run.
          --version                Print the version.
          -h, --help               Print this help. `sluice COMMAND --help` explains a subcommand.

        Every flag also accepts --flag=value.

        EXIT STATUS
          0  every event was delivered or deliberately filtered (invalid input lines alone do not fail a run)
          1  at least one event was dead-lettered or dropped
          2  usage or configuration error, or an unwritable --summary/--dead-letter path (nothing was read)
          3  Sluice could not record what happened to some events: a dead-letter, stdout or file write
             failed (a full disk, a closed pipe). Each failure is reported on standard error as it
             happens, and counted in the summary (deadLetterWriteFailures, writeFailures).

        When the reader of standard output goes away (`sluice | head -1`), sluice stops reading input,
        counts the events it could not write as dead-lettered, says so in one line and exits with status 3.
        The summary lists why events were dead-lettered, per destination (deadLetteredByReason); each new
        reason is also printed on standard error the first time it happens.

        EXAMPLES
          Convert generated Statsig events to Segment messages:
            sluice generate --events 1000000 | sluice --format segment
          Run a configured pipeline:
            sluice --config pipeline.json < events.ndjson
          The same, keeping a JSON summary and the events that could not be delivered:
            sluice --config pipeline.json --summary summary.json --dead-letter failed.ndjson < events.ndjson
          See what would be sent, without sending:
            sluice --config pipeline.json --dry-run --input events.ndjson

        ENVIRONMENT
          SLUICE_HTTP_TRANSPORT    curl (default: libcurl, which waits for slow endpoints without using CPU)
                                   or urlsession (Foundation's URLSession).
          SSL_CERT_FILE            CA certificates (PEM) to trust for HTTPS instead of libcurl's bundle.
        """

    static let generate = """
        sluice generate: write synthetic Statsig export events, one JSON object per line.

        USAGE
          sluice generate --events N [--dup-rate R] [--invalid-rate R] [--seed S] [--users N] [--output FILE]

        The events are a realistic mix of custom events and gate, config and experiment exposures from a pool of
        users. The same options and seed always produce the same bytes, so the output makes a repeatable test
        input or benchmark.

        OPTIONS
          --events N          How many lines to write, exactly (required); broken lines and duplicates are
                              part of them.
          --dup-rate R        Fraction of the lines (0 to 1) that repeat an earlier event exactly; sluice should
                              drop them as duplicates. Default 0.
          --invalid-rate R    Fraction of the lines (0 to 1) that are broken JSON; sluice should count and skip
                              them. Default 0. N × R is rounded to whole lines.
          --seed S            Random seed, a whole number. Default 1.
          --users N           How many distinct users the events come from. Default 10000.
          --output FILE       Write to FILE instead of standard output (`-` is standard output).
          -h, --help          Print this help.

        EXAMPLES
          Pipe a million events through sluice as Segment messages:
            sluice generate --events 1000000 | sluice --format segment
          A test file with 5% duplicates and 1% broken lines:
            sluice generate --events 10000 --dup-rate 0.05 --invalid-rate 0.01 --output events.ndjson
        """

    static let validate = """
        sluice validate: check a pipeline configuration without reading any events.

        USAGE
          sluice validate --config FILE

        Parses FILE as strict JSON (a trailing comma or a repeated key is an error naming its line, column and
        byte), substitutes ${NAME} environment variables, checks every number against its range (README's
        configuration table) and reports every problem, one per line, with the path of the key at fault, for
        example `destinations[2].batch.maxEvents: must be at most 2500, Segment's limit`.
        Secrets are never printed. Exits 0 when the configuration is valid, 2 when it is not.

        OPTIONS
          --config FILE       The configuration to check (also accepted as the only argument).
          -h, --help          Print this help.

        EXAMPLES
          sluice validate --config pipeline.json
          SEGMENT_WRITE_KEY=test sluice validate pipeline.json
        """

    static let serve = """
        sluice serve: an HTTP endpoint that Statsig and Segment SDKs send to directly.

        USAGE
          sluice serve [--listen HOST:PORT] [--config FILE] [OPTIONS]

        Listens for HTTP/1.1 (put a TLS terminator such as nginx in front for HTTPS) and feeds every accepted
        body into the pipeline the configuration describes:
          POST /v1/log_event, /v1/rgstr      Statsig SDK events (key: STATSIG-API-KEY header or ?k=)
          POST /v1/batch, /v1/track, /v1/page, /v1/screen, /v1/identify, /v1/group, /v1/alias
                                             Segment library calls (key: Basic auth or "writeKey")
          GET  /healthz                      200 while accepting, 503 while draining
          GET  /metrics                      Prometheus text exposition
        Answers: 200 {"success":true} once accepted; 400 with the reasons (and which events of a batch were
        invalid); 401 unknown key; 413 body over serve.maxBodyBytes (compressed or not); 415 unknown
        Content-Encoding; 503 with Retry-After while the pipeline stays full or shuts down.

        Keys come from the configuration's "serve" section (statsigKeys, segmentWriteKeys). Without keys, any
        key is accepted, and only on a loopback address: serve refuses to start on another one.

        OPTIONS
          --listen HOST:PORT       Address to listen on (default serve.listen, 127.0.0.1:8080; port 0 picks
                                   a free port). The address is printed on standard error at start.
          --metrics-listen HOST:PORT
                                   Also serve /healthz and /metrics on a separate address.
          Every option of the run command except --input: --config, --summary, --dead-letter, --dry-run,
          --no-dedupe, --quiet, --stats-interval, --drain-timeout.

        CONFIGURATION ("serve" section; all optional)
          listen, maxBodyBytes (4194304), statsigKeys, segmentWriteKeys, maxConnections (1024),
          readTimeoutMs (30000: a request must arrive whole within this), idleTimeoutMs (60000),
          trustedProxies (addresses or CIDR blocks whose X-Forwarded-For is believed), queueWaitMs (1000),
          maxInFlightBodyBytes (268435456: request bodies held by all connections at once; past it a body
          waits queueWaitMs, then gets 503 + Retry-After unread).

        SIGNALS
          SIGINT / SIGTERM stop accepting, finish the requests in flight, drain the pipeline and exit with the
          usual summary and status; a second signal gives up on delivery and dead-letters the rest.

        EXAMPLE
          sluice serve --listen 127.0.0.1:8080 --config relay.json --summary summary.json
        """
}
