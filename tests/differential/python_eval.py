"""Evaluates differential-test cases with the pinned fb-python-sdk in offline mode.

Usage: python python_eval.py <cases.json> <out.json>
Input and output as in node_eval.js. The SDK is driven through its public API (offline Config,
initialize_from_external_json, variation_detail).
"""
import json
import logging
import sys

from fbclient.client import FBClient
from fbclient.config import Config

DEFAULT = "\u0000vane-sdk-default"


def to_sdk_user(user):
    # The SDK's user dict: `key`, `name` (required by the SDK) and custom properties as keys.
    out = {"key": user["keyId"]}
    if user.get("name") is not None:
        out["name"] = user["name"]
    for prop in user.get("customizedProperties") or []:
        out[prop["name"]] = prop["value"]
    return out


def main():
    logging.disable(logging.CRITICAL)
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        data = json.load(f)
    client = FBClient(Config("offline-secret", "http://localhost", "ws://localhost", offline=True), start_wait=0)
    bootstrap = {"messageType": "data-sync",
                 "data": {"eventType": "full", "featureFlags": data["featureFlags"], "segments": data["segments"]}}
    if not client.initialize_from_external_json(json.dumps(bootstrap)):
        sys.exit("fb-python-sdk rejected the bootstrap data")
    results = []
    for case in data["cases"]:
        try:
            detail = client.variation_detail(case["flagKey"], to_sdk_user(case["user"]), DEFAULT)
            value = detail.variation
            results.append({"none": detail.reason} if value == DEFAULT else {"value": value})
        except Exception as e:  # the SDK lets some evaluation errors escape
            results.append({"none": "raised %s" % type(e).__name__})
    with open(target, "w", encoding="utf-8") as f:
        json.dump(results, f)
    client.stop()


if __name__ == "__main__":
    main()
