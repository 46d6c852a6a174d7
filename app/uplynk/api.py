"""The api2 call pipeline: authenticate, run the operation, render `{..., "error": 0}` or an error.

Operations register with `@api2("asset/get")`. Fast read-only operations run on the event loop
(cheaper than a thread hop on the hot path; measured faster on PostgreSQL too, whose short queries
cost less than the hop, and reads never wait for a lock). Operations that write run in the thread
pool (`threaded=True`): on SQLite a write waits for the database write lock, and that wait must
not stall every other request. So do operations that touch media or copy files.
Every refusal becomes HTTP 200 `{"error": 1, "msg": ...}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lynkflow import limits
from lynkflow.domain.uplynk_assets import AssetError
from lynkflow.logging import get_logger
from lynkflow.media.errors import MediaError
from lynkflow.storage.diskfull import NO_SPACE, is_disk_full
from lynkflow.storage.paths import UnsafePath
from lynkflow.uplynk.errors import Api2Error, error_response
from lynkflow.uplynk.params import ParamError
from lynkflow.uplynk.query import QueryError
from lynkflow.uplynk.transport import Api2Call, authenticate

log = get_logger("uplynk")

Operation = Callable[[Api2Call], dict[str, Any]]
OPERATIONS: dict[str, tuple[Operation, bool]] = {}

_CLIENT_ERRORS = (Api2Error, ParamError, QueryError, AssetError, UnsafePath)


def api2(name: str, *, threaded: bool = False) -> Callable[[Operation], Operation]:
    def deco(fn: Operation) -> Operation:
        OPERATIONS[name] = (fn, threaded)
        return fn

    return deco


def _message(exc: Exception) -> str:
    return exc.msg if isinstance(exc, Api2Error) else str(exc)


def make_endpoint(name: str) -> Callable[[Request], Any]:
    fn, threaded = OPERATIONS[name]

    async def endpoint(request: Request) -> JSONResponse:
        try:
            call = await authenticate(request)
            result = await run_in_threadpool(fn, call) if threaded else fn(call)
        except _CLIENT_ERRORS as exc:
            return journaled_error(request, _message(exc))
        except MediaError as exc:
            return journaled_error(request, str(exc))
        except Exception as exc:  # noqa: BLE001 - the api2 shape even for our own bugs, and a log line
            if is_disk_full(exc):
                log.warning("api2 operation refused: disk full", extra={"fields": {"operation": name}})
                return journaled_error(request, NO_SPACE)
            log.exception("api2 operation failed", extra={"fields": {"operation": name}})
            return journaled_error(request, f"internal error in {name}; see the lynkflow log", internal=True)
        result["error"] = 0
        note_answer(request, 0)
        return JSONResponse(result)

    endpoint.__name__ = "api2_" + name.replace("/", "_").replace("-", "_")
    return endpoint


def note_answer(request: Request, error: int, msg: str | None = None) -> None:
    """Tell the request journal what api2 answered (`error`, and `msg` on a refusal)."""
    face = getattr(request.state, "journal", None)
    if not isinstance(face, dict):
        face = request.state.journal = {"api": "uplynk"}
    face["error"] = error
    if msg is not None:
        face["msg"] = msg


def journaled_error(request: Request, msg: str, *, internal: bool = False) -> JSONResponse:
    note_answer(request, 1, msg)
    return error_response(msg, internal=internal)


def require(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise Api2Error(f"missing required parameter {name}")
    return value


def as_str(value: Any, name: str, *, max_len: int = limits.MAX_PATH_CHARS) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ParamError(f"{name} must be a string")
    text = str(value)
    if len(text) > max_len:
        raise ParamError(f"{name} must be at most {max_len} characters")
    return text
