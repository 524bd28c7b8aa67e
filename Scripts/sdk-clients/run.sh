#!/usr/bin/env bash
# Real clients against `sluice serve`: installs the official Statsig and Segment Python SDKs (pinned in
# requirements.txt) into a virtual environment, points them at a running `sluice serve`, drives gates,
# experiments, custom events, track/page/screen and an audience identify, and checks what Sluice delivers to
# a loopback Statsig/Segment/Heap stand-in (standin.py, which also serves the SDK's config specs so it runs
# offline). Needs python3 with venv and access to PyPI. Usage: Scripts/sdk-clients/run.sh [SLUICE_BINARY]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
sluice="${1:-}"
if [ -z "$sluice" ]; then
  (cd "$root" && swift build --product sluice >/dev/null)
  sluice="$(cd "$root" && swift build --show-bin-path)/sluice"
fi
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

venv="$root/.build/sdk-clients-venv"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  echo "sdk-clients: installing $(grep -v '^#' "$here/requirements.txt" | tr '\n' ' ')into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi
python="$venv/bin/python"

# The stand-in for the services Sluice delivers to (and the Statsig SDK's config-specs source).
"$python" "$here/standin.py" > "$work/standin.out" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/standin.out" ] && break; sleep 0.1; done
standin="http://127.0.0.1:$(head -1 "$work/standin.out")"

cat > "$work/relay.json" <<JSON
{
  "serve": {"statsigKeys": ["secret-relay-test"], "segmentWriteKeys": ["wk-relay-test"]},
  "destinations": [
    {"name": "archive", "type": "file", "path": "$work/archive.ndjson", "events": {"categories": ["custom", "gate_exposure", "config_exposure", "experiment_exposure", "layer_exposure"]}},
    {"name": "heap", "type": "heap", "endpoint": "$standin", "appID": "heap-app-1", "batch": {"maxDelayMs": 100}},
    {"name": "segment", "type": "segment", "endpoint": "$standin", "writeKey": "downstream-wk", "batch": {"maxDelayMs": 100}},
    {"name": "statsig", "type": "statsig", "endpoint": "$standin", "apiKey": "secret-downstream", "batch": {"maxDelayMs": 100}},
    {"name": "audiences", "type": "statsig-idlists", "endpoint": "$standin", "apiKey": "console-downstream", "batch": {"maxDelayMs": 100}}
  ]
}
JSON
"$sluice" serve --listen 127.0.0.1:0 --config "$work/relay.json" --summary "$work/summary.json" 2> "$work/sluice.err" &
sluice_pid=$!
pids+=($sluice_pid)
port=""
for _ in $(seq 200); do
  port="$(grep -o 'serve: listening on http://127.0.0.1:[0-9]*' "$work/sluice.err" | sed 's/.*://' || true)"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "sdk-clients: sluice serve did not start:"; cat "$work/sluice.err"; exit 1; }

"$python" "$here/drive.py" "$port" "${standin##*:}" secret-relay-test wk-relay-test > "$work/report.json"
kill -TERM "$sluice_pid"
status=0
wait "$sluice_pid" || status=$?
cat "$work/sluice.err"
[ "$status" -eq 0 ] || { echo "sdk-clients: sluice serve exited with $status"; exit 1; }
curl -s "$standin/_captured" > "$work/captured.json"
"$python" "$here/check.py" "$work/report.json" "$work/captured.json" "$work/summary.json" "$work/archive.ndjson" "$work/sluice.err"
