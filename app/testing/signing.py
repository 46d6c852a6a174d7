"""Build Uplynk api2 `msg`/`sig` pairs exactly as the official sample client does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import zlib
from typing import Any


def encode_msg(params: dict[str, Any], owner: str, timestamp: int | None = None, *, level: int = 9) -> str:
    doc = dict(params)
    doc["_owner"] = owner
    doc["_timestamp"] = int(time.time()) if timestamp is None else timestamp
    return base64.b64encode(zlib.compress(json.dumps(doc).encode(), level)).decode().strip()


def sign(msg: str, api_key: str) -> str:
    return hmac.new(api_key.encode(), msg.encode(), hashlib.sha256).hexdigest()


def signed_params(params: dict[str, Any], owner: str, api_key: str, timestamp: int | None = None) -> dict[str, str]:
    msg = encode_msg(params, owner, timestamp)
    return {"msg": msg, "sig": sign(msg, api_key)}


class Signer:
    """Signs api2 calls for one owner so that no two calls ever share a `msg`.

    Two calls with the same parameters in the same second would produce the same `msg`, which
    lynkflow (like a careful server) refuses as a replay. Repeats within one `_timestamp` therefore
    vary the JSON whitespace: `msg` changes, its meaning does not.
    """

    def __init__(self, owner: str, api_key: str) -> None:
        self.owner = owner
        self.api_key = api_key
        self._repeats: dict[int, int] = {}
        self._lock = threading.Lock()  # one Signer may sign for many threads at once

    def __call__(self, params: dict[str, Any], timestamp: int | None = None) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else int(timestamp)
        with self._lock:
            repeat = self._repeats.get(ts, 0)
            if len(self._repeats) > 1000:
                self._repeats.clear()
            self._repeats[ts] = repeat + 1
        doc = {**params, "_owner": self.owner, "_timestamp": ts}
        text = json.dumps(doc) if repeat == 0 else json.dumps(doc, indent=repeat)
        msg = base64.b64encode(zlib.compress(text.encode(), 9)).decode()
        return {"msg": msg, "sig": sign(msg, self.api_key)}
