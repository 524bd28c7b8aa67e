"""Drives the official Statsig and Segment Python SDKs against `sluice serve`.

Usage: drive.py SLUICE_PORT STANDIN_PORT STATSIG_KEY SEGMENT_WRITE_KEY
Prints one JSON line: what each SDK reported (flush successes and errors).
"""
import json
import sys
import threading

SLUICE, STANDIN, STATSIG_KEY, WRITE_KEY = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
sluice = f"http://127.0.0.1:{SLUICE}"
standin = f"http://127.0.0.1:{STANDIN}"
report = {"statsig_flushes": [], "segment_errors": []}

# --- Statsig server SDK: config specs from the stand-in, events to Sluice --------------------------------
from statsig import statsig, StatsigOptions, StatsigUser, StatsigEvent


def flushed(success, events, status, exception):
    report["statsig_flushes"].append({"success": success, "events": len(events or []), "status": status,
                                      "error": str(exception) if exception else None})


options = StatsigOptions(
    api=f"{standin}/v1/",
    api_for_download_config_specs=f"{standin}/v1/",
    api_for_get_id_lists=f"{standin}/v1/",
    api_for_log_event=f"{sluice}/v1/",
    events_flushed_callback=flushed,
    disable_diagnostics=True,
    init_timeout=10,
)
statsig.initialize(STATSIG_KEY, options)
users = [StatsigUser(user_id=f"user-{i}", email=f"user{i}@example.com", custom_ids={"stableID": f"stable-{i}"}) for i in range(3)]
gates = [statsig.check_gate(user, "new_checkout") for user in users]
colors = [statsig.get_experiment(user, "checkout_flow").get("button_color", "none") for user in users]
for i, user in enumerate(users):
    statsig.log_event(StatsigEvent(user, "purchase", value=9.99 + i, metadata={"item": f"sku-{i}"}))
statsig.shutdown()  # flushes the event queue to Sluice
report["gates"] = gates
report["experiment"] = colors

# --- statsig-python-core, the newer server SDK: specs in the v2 shape, events to Sluice -------------------
from statsig_python_core import Statsig as CoreStatsig, StatsigOptions as CoreOptions, StatsigUser as CoreUser

core_options = CoreOptions()
core_options.specs_url = f"{standin}/v2/download_config_specs"
core_options.log_event_url = f"{sluice}/v1/log_event"
core_options.disable_country_lookup = True
core_options.enable_id_lists = False
core = CoreStatsig(STATSIG_KEY, core_options)
core.initialize().wait()
core_user = CoreUser("core-user-1", email="core1@example.com")
report["core_gate"] = core.check_gate(core_user, "new_checkout")
report["core_experiment"] = core.get_experiment(core_user, "checkout_flow").get_string("button_color", "none")
core.log_event(core_user, "core_purchase", 5, {"item": "sku-core"})
core.flush_events().wait()
core.shutdown().wait()

# --- Segment library: track, page, screen, audience identify to Sluice ------------------------------------
import segment.analytics as analytics


def on_error(error, items):
    report["segment_errors"].append(str(error))


analytics.write_key = WRITE_KEY
analytics.host = sluice
analytics.gzip = True
analytics.on_error = on_error
analytics.sync_mode = False
analytics.track("user-1", "Order Completed", {"revenue": 42, "currency": "USD"})
analytics.page("user-1", "Docs", "Getting Started", {"url": "https://example.com/docs"})
analytics.screen("user-2", "App", "Home", {"tab": "feed"})
# An Engage/Personas audience change: user-2 joined the "high_value" audience.
analytics.identify("user-2", {"high_value": True},
                   context={"personas": {"computation_class": "audience", "computation_key": "high_value",
                                         "computation_id": "aud_123", "space_id": "spa_1"}})
analytics.flush()
analytics.shutdown()
print(json.dumps(report), flush=True)
