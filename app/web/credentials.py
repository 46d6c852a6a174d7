"""The "credentials in use" panel: the configured accounts and copy-paste examples of signed calls.

The api2 example is signed now, with the lynkflow clock, so the curl line works as pasted for as
long as the timestamp is within LYNKFLOW_TIMESTAMP_SKEW. The Python example signs on its own with
the standard library only, so it keeps working after that.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from lynkflow.context import AppContext
from lynkflow.testing.signing import signed_params

EXAMPLE_PATH = "/api2/asset/list"


@dataclass(frozen=True)
class SignedExample:
    curl: str
    python: str
    vis_curl: str
    timestamp: int
    valid_seconds: int


def signed_example(ctx: AppContext, base: str) -> SignedExample:
    s = ctx.settings
    timestamp = ctx.clock.now_ms() // 1000
    params = signed_params({"limit": 5}, s.uplynk_owner, s.uplynk_api_key, timestamp=timestamp)
    url = f"{base}{EXAMPLE_PATH}"
    curl = (f"curl -s {shlex.quote(url)} \\\n  --data-urlencode {shlex.quote('msg=' + params['msg'])} \\\n"
            f"  --data-urlencode {shlex.quote('sig=' + params['sig'])}")
    python = f'''import base64, hashlib, hmac, json, time, zlib
import urllib.parse, urllib.request

OWNER = "{s.uplynk_owner}"
API_KEY = "{s.uplynk_api_key}"


def call(path, **params):
    params.update(_owner=OWNER, _timestamp=int(time.time()))
    msg = base64.b64encode(zlib.compress(json.dumps(params).encode(), 9)).decode()
    sig = hmac.new(API_KEY.encode(), msg.encode(), hashlib.sha256).hexdigest()
    body = urllib.parse.urlencode({{"msg": msg, "sig": sig}}).encode()
    with urllib.request.urlopen("{base}" + path, body) as resp:
        return json.load(resp)


print(call("{EXAMPLE_PATH}", limit=5))
'''
    vis_curl = f"curl -s -H {shlex.quote('API-KEY: ' + s.vuflow_api_key)} {shlex.quote(base + '/api/event/')}"
    return SignedExample(curl=curl, python=python, vis_curl=vis_curl, timestamp=timestamp,
                         valid_seconds=s.timestamp_skew)
