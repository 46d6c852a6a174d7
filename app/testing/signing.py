"""Build Uplynk api2 `msg`/`sig` pairs exactly as the official sample client does.

The encoding and the HMAC are lynkflow's own (app/uplynk/signature.py), so a test signs exactly
what the server checks; this module adds the envelope (`_owner`, `_timestamp`) and replay-free
repeats.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from lynkflow.uplynk.signature import compute_sig, pack_msg


def encode_msg(params: dict[str, Any], owner: str, timestamp: int | None = None, *, level: int = 9) -> str:
    doc = {**params, "_owner": owner, "_timestamp": int(time.time()) if timestamp is None else timestamp}
    return pack_msg(doc, level=level)


def sign(msg: str, api_key: str) -> str:
    """The `sig` of a msg for an API key (the server's own computation)."""
    return compute_sig(msg, api_key)


def signed_params(params: dict[str, Any], owner: str, api_key: str, timestamp: int | None = None) -> dict[str, str]:
    msg = encode_msg(params, owner, timestamp)
    return {"msg": msg, "sig": compute_sig(msg, api_key)}


class Signer:
    """Signs api2 calls for one owner so that no two calls ever share a `msg`.

    Two calls with the same parameters in the same second would produce the same `msg`, which
    lynkflow (like a careful server) refuses as a replay. Repeats within one `_timestamp` therefore
    vary the JSON whitespace: `msg` changes, its meaning does not.
    """

    def __init__(self, owner: str, api_key: str, *, now: Callable[[], float] = time.time) -> None:
        self.owner = owner
        self.api_key = api_key
        self.now = now  # the `_timestamp` source: a test that moves lynkflow's clock passes that clock
        self._repeats: dict[int, int] = {}
        self._lock = threading.Lock()  # one Signer may sign for many threads at once

    def __call__(self, params: dict[str, Any], timestamp: int | None = None, *, owner: str | None = None,
                 api_key: str | None = None, level: int = 9) -> dict[str, str]:
        """A signed pair; `owner` and `api_key` override the signer's own for this one call."""
        ts = int(self.now()) if timestamp is None else int(timestamp)
        with self._lock:
            repeat = self._repeats.get(ts, 0)
            if len(self._repeats) > 1000:
                self._repeats.clear()
            self._repeats[ts] = repeat + 1
        doc = {**params, "_owner": owner or self.owner, "_timestamp": ts}
        msg = pack_msg(doc, level=level, indent=repeat or None)
        return {"msg": msg, "sig": compute_sig(msg, api_key or self.api_key)}
