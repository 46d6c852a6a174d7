"""Build Uplynk api2 `msg`/`sig` pairs exactly as the official sample client does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
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
