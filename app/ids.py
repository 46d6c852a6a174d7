"""Identifier generation: Uplynk 32-hex ids, VIS GUIDs, test-player ids.

With LYNKFLOW_SEED_RANDOM set, ids come from a seeded generator so snapshot tests see stable ids.
"""

from __future__ import annotations

import random
import secrets
import string
import threading
import uuid

_lock = threading.Lock()
_rng: random.Random | None = None


def seed(value: int | None) -> None:
    global _rng
    with _lock:
        _rng = random.Random(value) if value is not None else None


def _bits(n: int) -> int:
    with _lock:
        if _rng is not None:
            return _rng.getrandbits(n)
    return secrets.randbits(n)


def hex32() -> str:
    return f"{_bits(128):032x}"


def guid() -> str:
    return str(uuid.UUID(int=_bits(128), version=4))


_ALNUM = string.ascii_letters + string.digits


def player_id(length: int = 24) -> str:
    """Test/embed player ids are 22-24 character alphanumeric strings on the real service."""
    out = []
    for _ in range(length):
        out.append(_ALNUM[_bits(16) % len(_ALNUM)])
    return "".join(out)
