"""A loopback stand-in for Statsig, Segment and Heap: records every request and answers like the services do.

- GET  /v1/download_config_specs/<key>.json  -> the config specs in specs.json (so the Statsig SDK can
  evaluate gates and experiments offline); /v2/... the same as maps keyed by name (statsig-python-core)
- POST /v1/get_id_lists                     -> {} (no ID lists)
- anything else                              -> 200 {"success": true}
- GET  /_captured                            -> every recorded request as JSON (bodies gunzipped and parsed)

Prints its port on the first line of stdout.
"""
import gzip
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURED = []
LOCK = threading.Lock()
with open(os.path.join(HERE, "specs.json")) as f:
    SPECS = f.read()
# statsig-python-core (the Rust core) reads the v2 shape, where specs are maps keyed by name.
_v2 = json.loads(SPECS)
_condition_map = {}
for _kind in ("feature_gates", "dynamic_configs", "layer_configs"):
    _v2[_kind] = {spec["name"]: spec for spec in _v2[_kind]}
    for _spec in _v2[_kind].values():
        for _rule in _spec["rules"]:
            # v2 names each condition by a key into condition_map (and takes absent rather than null fields).
            keys = []
            for c in _rule["conditions"]:
                key = f"c{len(_condition_map)}"
                _condition_map[key] = {k: v for k, v in c.items() if v is not None}
                keys.append(key)
            _rule["conditions"] = keys
_v2["condition_map"] = _condition_map
_v2.setdefault("experiment_to_layer", {})
SPECS_V2 = json.dumps(_v2)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body, content_type="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with LOCK:
            CAPTURED.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})

    def do_GET(self):
        if self.path == "/_captured":
            with LOCK:
                return self._answer(200, json.dumps(CAPTURED))
        if self.path.startswith("/v1/download_config_specs/"):
            return self._answer(200, SPECS)
        if self.path.startswith("/v2/download_config_specs/"):
            return self._answer(200, SPECS_V2)
        self._answer(404, "{}")

    def do_POST(self):
        self._record()
        if self.path.startswith("/v1/get_id_lists"):
            return self._answer(200, "{}")
        self._answer(200, '{"success":true}')

    do_PATCH = do_POST
    do_DELETE = do_POST


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
