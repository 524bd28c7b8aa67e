#!/usr/bin/env bash
# Benchmark of `sluice serve`: events/s and request latency for 100-event gzip log_event bodies from a loopback
# wrk, and peak RSS with 200 concurrent clients sending 4 MB bodies.
# Usage: [SLUICE=BINARY] Benchmarks/serve/run.sh [SECONDS] [CONNECTIONS]      (needs wrk: apt-get install wrk)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-10}"
connections="${2:-32}"
command -v wrk >/dev/null || { echo "serve benchmark: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
sluice="${SLUICE:-}"   # SLUICE=path/to/sluice skips the build
if [ -z "$sluice" ]; then
  (cd "$root" && swift build -c release --product sluice >/dev/null)
  sluice="$(cd "$root" && swift build -c release --show-bin-path)/sluice"
fi
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# 64 distinct bodies of 100 SDK-shaped events (Statsig's log_event: events with time, shared statsigMetadata).
"$sluice" generate --events 6400 --seed 7 --output "$work/events.ndjson"
mkdir -p "$work/gz" "$work/big"
split -l 100 -d -a 2 "$work/events.ndjson" "$work/part-"
n=0
for part in "$work"/part-*; do
  { printf '{"events":['; paste -sd, "$part" | tr -d '\n'; printf '],"statsigMetadata":{"sdkType":"py-server","sdkVersion":"0.72.1"}}'; } > "$work/body.json"
  gzip -c "$work/body.json" > "$work/gz/body-$n"
  n=$((n + 1))
done
echo "bodies: $n x 100 events, $(wc -c < "$work/body.json") bytes plain, $(wc -c < "$work/gz/body-0") bytes gzip"

start() {
  "$sluice" serve --listen 127.0.0.1:0 --no-dedupe --quiet --config "$work/serve.json" > /dev/null 2> "$work/serve.err" &
  pid=$!
  port=""
  for _ in $(seq 100); do
    port="$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/serve.err" | sed 's/.*://' || true)"
    [ -n "$port" ] && break
    sleep 0.1
  done
}
stop() {
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
}

# Throughput: --no-dedupe, because wrk repeats the 64 bodies (de-duplication would drop the repeats before
# the destination); the default stdout destination writes every event to /dev/null in the Statsig export format.
echo '{"serve": {"statsigKeys": ["secret-bench"], "maxBodyBytes": 4194304}}' > "$work/serve.json"
start
echo "== throughput: wrk -t2 -c$connections -d${seconds}s, 100-event gzip log_event bodies"
wrk -t2 -c"$connections" -d"${seconds}s" -s "$here/log_event.lua" "http://127.0.0.1:$port" -- "$work/gz" "$n" | tee "$work/wrk.out"
rps="$(grep -o '[0-9]* requests/s' "$work/wrk.out" | head -1 | cut -d' ' -f1)"
echo "events/s: $((rps * 100))"
grep -E "VmHWM" /proc/"$pid"/status
stop

# Memory: 200 concurrent clients, each sending plain bodies just under 4 MB (serve.maxBodyBytes is 4 MiB).
"$sluice" generate --events 20000 --seed 9 --output "$work/big.ndjson"
{ printf '{"events":['; awk '{ n += length($0) + 1; if (n > 4000000) exit; print }' "$work/big.ndjson" | paste -sd, | tr -d '\n'; printf ']}'; } > "$work/big/body-0"
echo "== memory: wrk -t2 -c200 -d${seconds}s, $(wc -c < "$work/big/body-0") byte plain bodies"
start
wrk -t2 -c200 -d"${seconds}s" --timeout 30s -s "$here/log_event.lua" "http://127.0.0.1:$port" -- "$work/big" 1 plain | tee "$work/wrk-big.out"
grep -E "VmHWM|VmRSS" /proc/"$pid"/status
stop
