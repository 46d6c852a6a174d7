"""Control routes for the one lynkflow clock: read, freeze, set, advance, resume."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from lynkflow import isodate, limits
from lynkflow.clock import Clock, ClockRangeError
from lynkflow.control import docs_models as docs
from lynkflow.control.errors import ControlError, ControlRoute

router = APIRouter(route_class=ControlRoute)


class At(BaseModel):
    at: int | str | None = None


class Advance(BaseModel):
    seconds: float = 0.0
    ms: int = 0


def parse_instant(value: int | str) -> int:
    """Epoch milliseconds from an integer (ms) or an ISO-8601 text (`2024-05-01T12:00:00Z`)."""
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.lstrip("-").isdigit():
        if len(text.lstrip("-")) > limits.INT64_DIGITS:
            raise ControlError(400, f"at must be epoch milliseconds within ±{limits.INT64_MAX}; got a "
                                    f"{len(text)}-digit number")
        return int(text)
    try:
        return isodate.parse_iso_ms(text, naive_is_utc=True)
    except isodate.IsoDateError:
        raise ControlError(400, f"at must be epoch milliseconds or ISO-8601 like 2024-05-01T12:00:00Z; "
                                f"got {value!r}") from None


@contextmanager
def _changing(request: Request) -> Iterator[Clock]:
    """Change the clock from its latest shared state (the clock shares the result itself)."""
    ctx = request.app.state.ctx
    ctx.shared.refresh()
    try:
        yield ctx.clock
    except ClockRangeError as exc:
        raise ControlError(400, str(exc)) from None


def clock_state(request: Request) -> dict[str, Any]:
    state = request.app.state.ctx.clock.state()
    iso = datetime.fromtimestamp(state.now_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return {"nowMs": state.now_ms, "now": iso.replace("+00:00", "Z"), "frozen": state.frozen,
            "offsetMs": state.offset_ms if not state.frozen else None}


@router.get("/clock", **docs.CLOCK_READ)
def read(request: Request) -> dict[str, Any]:
    return clock_state(request)


@router.post("/clock/freeze", **docs.CLOCK_FREEZE)
def freeze(request: Request, body: At | None = None) -> dict[str, Any]:
    at = None if body is None or body.at is None else parse_instant(body.at)
    with _changing(request) as clock:
        clock.freeze(at)
    return clock_state(request)


@router.post("/clock/set", **docs.CLOCK_SET)
def set_(request: Request, body: At) -> dict[str, Any]:
    if body.at is None:
        raise ControlError(400, "send {\"at\": <epoch ms or ISO-8601>}")
    with _changing(request) as clock:
        clock.set(parse_instant(body.at))
    return clock_state(request)


@router.post("/clock/advance", **docs.CLOCK_ADVANCE)
def advance(request: Request, body: Advance) -> dict[str, Any]:
    if not math.isfinite(body.seconds * 1000):
        raise ControlError(400, "seconds must be a finite number")
    with _changing(request) as clock:
        clock.advance(int(round(body.seconds * 1000)) + body.ms)
    return clock_state(request)


@router.post("/clock/resume", **docs.CLOCK_RESUME)
def resume(request: Request) -> dict[str, Any]:
    with _changing(request) as clock:
        clock.resume()
    return clock_state(request)


@router.post("/clock/reset", **docs.CLOCK_RESET)
def reset(request: Request) -> dict[str, Any]:
    """Back to real time: unfrozen, no offset."""
    with _changing(request) as clock:
        clock.reset()
    return clock_state(request)
