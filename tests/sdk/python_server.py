"""Drives the pinned, unmodified PyPI fb-python-sdk against a vane node, for tests/api/sdk_python.rs.

Input (JSON on stdin): {"url": "http://127.0.0.1:N", "secret": "<server secret>",
  "users": [{"key", "name", "custom": {prop: value}}], "flags": [{"key", "kind", "default"}],
  "metric": {"name", "value"}}
Output (one JSON line on stdout): {"ready", "readyMs", "values": {userKey: {flagKey: value}}}.
The SDK logs to stderr. Run with tests/sdk/.venv/bin/python (`make sdk-deps` creates it).
"""

import json
import logging
import sys
import time

from fbclient.client import FBClient
from fbclient.config import Config

# How long the constructor may block for the first data-sync (the SDK's default is 15 s).
START_WAIT_S = 10.0


def sdk_user(spec):
    """The python SDK's user dict: `key`, `name`, then custom properties as plain keys."""
    return {"key": spec["key"], "name": spec["name"], **spec.get("custom", {})}


def main():
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    spec = json.load(sys.stdin)
    started = time.monotonic()
    ws_url = spec["url"].replace("http", "ws", 1)
    client = FBClient(Config(spec["secret"], spec["url"], ws_url), start_wait=START_WAIT_S)
    ready = client.initialize
    ready_ms = int((time.monotonic() - started) * 1000)
    try:
        values = {}
        for user in spec["users"]:
            values[user["key"]] = {
                flag["key"]: client.variation(flag["key"], sdk_user(user), flag["default"]) for flag in spec["flags"]
            }
        client.track_metric(sdk_user(spec["users"][0]), spec["metric"]["name"], spec["metric"]["value"])
        client.flush()
    finally:
        # stop() drains the event queue: every insight recorded above is POSTed before it returns.
        client.stop()
    print(json.dumps({"ready": ready, "readyMs": ready_ms, "values": values}), flush=True)


if __name__ == "__main__":
    main()
