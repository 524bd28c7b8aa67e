"""Checks what the SDKs reported, what Sluice delivered to the stand-in, and Sluice's summary.

Usage: check.py REPORT_JSON CAPTURED_JSON SUMMARY_JSON ARCHIVE_NDJSON SLUICE_STDERR
Exits 1 (printing every failed check) when something is missing.
"""
import json
import sys

report = json.loads(open(sys.argv[1]).read())
captured = json.loads(open(sys.argv[2]).read())
summary = json.loads(open(sys.argv[3]).read())
archive = [json.loads(line) for line in open(sys.argv[4]) if line.strip()]
stderr = open(sys.argv[5]).read()
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def header(request, name):
    return next((v for k, v in request["headers"].items() if k.lower() == name.lower()), None)


# What the SDKs saw.
check(report["gates"] == [True, True, True], "Statsig SDK evaluated the gate from the stand-in's specs")
check(report["experiment"] == ["green"] * 3, "Statsig SDK evaluated the experiment")
flushes = report["statsig_flushes"]
check(flushes and all(f["success"] and f["status"] == 200 for f in flushes), f"Statsig SDK flushed to Sluice and got 200: {flushes}")
check(report["core_gate"] is True and report["core_experiment"] == "green", "statsig-python-core evaluated gate and experiment")
check(report["segment_errors"] == [], f"Segment library reported no errors: {report['segment_errors']}")

# What Sluice decoded (the archive file destination holds every event, canonical Statsig export shape).
names = [e["eventName"] for e in archive]
legacy = [e["eventName"] for e in archive if e["user"].get("userID", "").startswith("user-")]
check(legacy.count("statsig::gate_exposure") == 3, f"3 gate exposures archived from statsig ({legacy.count('statsig::gate_exposure')})")
check(legacy.count("statsig::config_exposure") == 3, f"3 experiment exposures archived from statsig ({legacy.count('statsig::config_exposure')})")
check(names.count("purchase") == 3, "3 custom events archived")
core = [e for e in archive if e["user"].get("userID") == "core-user-1"]
check(sorted(e["eventName"] for e in core) == ["core_purchase", "statsig::config_exposure", "statsig::gate_exposure"],
      f"statsig-python-core's exposures and custom event archived ({sorted(e['eventName'] for e in core)})")
for segment_name in ["segment_track:Order Completed", "segment_page:Getting Started", "segment_screen:Home"]:
    check(any(n.startswith(segment_name.split(":")[0]) and segment_name.split(":")[1] in n for n in names), f"{segment_name} archived ({sorted(set(names))})")
purchases = [e for e in archive if e["eventName"] == "purchase"]
check(all(e["user"].get("ip") == "127.0.0.1" for e in purchases), "the client's address became user.ip")
check(all("privateAttributes" not in e["user"] for e in archive), "no privateAttributes in any event")

# What reached the stand-in from Sluice's destinations.
heap = [r for r in captured if r["path"] == "/api/track"]
check(any("purchase" in json.dumps(r["body"]) for r in heap), "Heap received the custom event")
check(any("statsig::gate_exposure" in json.dumps(r["body"]) or "gate_exposure" in json.dumps(r["body"]) for r in heap), "Heap received the gate exposure")
segment = [r for r in captured if r["path"] == "/v1/batch"]
check(any("purchase" in json.dumps(r["body"]) for r in segment), "Segment received the custom event as a track call")
statsig = [r for r in captured if r["path"] == "/v1/log_event" and header(r, "STATSIG-API-KEY") == "secret-downstream"]
check(any("Order Completed" in json.dumps(r["body"]) for r in statsig), "Statsig received the Segment track as segment_track:Order Completed")
idlists = [r for r in captured if "/console/v1/segments/" in r["path"]]
check(any(r["method"] == "PATCH" and "high_value" in r["path"] and "user-2" in json.dumps(r["body"]) for r in idlists),
      f"Statsig ID list high_value got user-2 added ({[(r['method'], r['path']) for r in idlists]})")

# Sluice's own account.
destinations = summary["destinations"]
for name, counts in destinations.items():
    check(counts["deadLettered"] == 0 and counts["dropped"] == 0, f"{name}: nothing dead-lettered or dropped {counts}")
check(summary["invalid"] == 0, "no invalid input")
for secret in ["secret-relay-test", "wk-relay-test"]:
    check(secret not in stderr, f"inbound key {secret[:6]}... never printed")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("all SDK relay checks passed")
