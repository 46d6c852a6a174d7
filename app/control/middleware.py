"""The one ASGI middleware of the control plane: fault injection and the request journal.

It wraps the whole application, outside Starlette's own error middleware, for two reasons: the
journal then records the 500s that middleware produces, and a `drop` fault can reach the server's
connection to close it without any answer (the server's `send` is only visible out here).
Control-plane, dashboard and storage requests pass straight through, untouched and unrecorded.
Before an API or control-plane request runs, the shared control-plane state is refreshed (one
version read, lynkflow/shared.py), so a change made through any process applies to it.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lynkflow import jsondoc
from lynkflow.admission import Admission
from lynkflow.context import AppContext
from lynkflow.control import tenant_scope
from lynkflow.control.faults import (
    FAULT_HEADER,
    FAULT_MESSAGE_HEADER,
    Fault,
    FaultSpecError,
    error_body,
    get_faults,
    parse_header,
)
from lynkflow.control.journal import get_journal
from lynkflow.control.stubs import get_stubs, request_params
from lynkflow.faces import classify
from lynkflow.tenancy import current_tenant, get_directory
from lynkflow.uplynk.errors import INTERNAL_ERROR_HEADER
from lynkflow.uplynk.signature import redact

_INTERNAL_HEADER = INTERNAL_ERROR_HEADER.lower().encode()

# VIS JSON bodies are recorded up to this size; bigger ones are noted as truncated.
MAX_JOURNAL_BODY = 64 * 1024
# Control-plane routes that read no shared state: no version read (a database round trip) for them.
_STATELESS = frozenset({"/_lynkflow/health"})

class DroppedConnection(ConnectionResetError):
    """Raised where there is no network connection to drop (in-process test clients)."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": data})


async def _drop(send: Send) -> None:
    """Close the client's connection with no answer at all."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise DroppedConnection("connection dropped by a lynkflow fault")
    transport.abort()
    # Let the server notice the lost connection before it checks whether we answered, so it
    # does not try to write a 500 to a closed socket.
    for _ in range(3):
        await asyncio.sleep(0)


class ControlMiddleware:
    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx
        # API requests on SQLite take turns at the route (lynkflow/admission.py says why not on PostgreSQL).
        self.admission = Admission() if ctx.engine.dialect.name == "sqlite" else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        api = classify(path)
        ctx = self.ctx
        if api is None:
            if path.startswith("/_lynkflow/") and path not in _STATELESS:
                await ctx.shared.refresh_async()  # the control plane shows and changes the shared state
            await self.app(scope, receive, send)
            return
        # Clock, fault rules and key generation as any process last changed them: one read.
        await ctx.shared.refresh_async()
        # The tenant whose clock, faults, stubs and journal view apply (lynkflow/tenancy.py).
        tenant, receive = await tenant_scope.resolve(get_directory(ctx), api, scope, receive)
        token = current_tenant.set(tenant)
        try:
            await self._serve(scope, receive, send, api, path, tenant)
        finally:
            current_tenant.reset(token)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, api: str, path: str,
                     tenant: str | None) -> None:
        ctx = self.ctx
        journal = get_journal(ctx)
        started = time.perf_counter()
        method: str = scope["method"]
        entry: dict[str, Any] = {"time": ctx.clock.now_ms(), "api": api, "method": method, "route": path,
                                 "query": scope.get("query_string", b"").decode("latin-1"), "status": None,
                                 "durationMs": None, "params": None, "body": None, "fault": None,
                                 "signature": None, "internalError": False, "tenant": tenant, "stub": None}
        state: dict[str, Any] = scope.setdefault("state", {})

        fault: Fault | None = None
        faults = get_faults(ctx)
        try:
            header = _header(scope, FAULT_HEADER.encode())
            if header:
                fault = parse_header(header, _header(scope, FAULT_MESSAGE_HEADER.encode()), faults)
            else:
                candidates = faults.candidates(api, path, method, tenant)
                if candidates:  # firing one writes its hit to the database: off the event loop
                    fault = await run_in_threadpool(faults.fire, candidates)
        except FaultSpecError as exc:
            body = {"error": f"bad {FAULT_HEADER} header: {exc}"}
            await _send_json(send, 400, body)
            self._record(journal, entry, started, 400, {"action": "invalid", "error": str(exc)}, state)
            return

        if fault is not None:
            entry["fault"] = fault.describe()
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.action == "error":
                status, body, headers = error_body(api, fault, method, path,
                                                   _header(scope, b"x-transaction-id") or None)
                entry["fault"]["status"] = status
                if api == "uplynk":  # what api2 answered, as for a real refusal
                    entry["error"], entry["msg"] = body.get("error"), body.get("msg")
                await _send_json(send, status, body, headers)
                self._record(journal, entry, started, status, entry["fault"], state)
                return
            if fault.action == "drop":
                self._record(journal, entry, started, 0, entry["fault"], state)
                await _drop(send)
                return

        # A stub for this face, route and method: decode the parameters and answer if one matches.
        stubs = get_stubs(ctx)
        candidates = stubs.candidates(api, path, method, tenant)
        if candidates:
            params, receive = await request_params(api, scope, receive)
            stub = await run_in_threadpool(stubs.fire, candidates, params)
            if stub is not None:
                if stub.latency_ms:
                    await asyncio.sleep(stub.latency_ms / 1000)
                entry["stub"] = stub.id
                entry["params" if api == "uplynk" else "body"] = redact(params) if api == "uplynk" else params
                if api == "uplynk":
                    entry["error"], entry["msg"] = stub.body.get("error"), stub.body.get("msg")
                await _send_json(send, stub.status, stub.body)
                self._record(journal, entry, started, stub.status, entry["fault"], state)
                return

        status_box = [0]
        body_parts: list[bytes] = []
        body_size = [0]
        capture = api == "vuflow" and method in ("POST", "PUT", "PATCH") and "json" in (
            _header(scope, b"content-type") or "")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                # Our own bug, whatever shape the answer has: a 500, or the api2 catch-all's
                # `{"error": 1}` that carries the internal-error header. (A deliberate 5xx, such
                # as 507 for a full disk or an injected fault, is not one.)
                entry["internalError"] = message["status"] == 500 or any(
                    key.lower() == _INTERNAL_HEADER for key, _ in message.get("headers", ()))
            await send(message)

        async def receive_wrapper() -> Message:
            message = await receive()
            if message["type"] == "http.request" and body_size[0] <= MAX_JOURNAL_BODY:
                chunk = message.get("body", b"")
                body_size[0] += len(chunk)
                if body_size[0] <= MAX_JOURNAL_BODY:
                    body_parts.append(chunk)
            return message

        try:
            if self.admission is None:
                await self.app(scope, receive_wrapper if capture else receive, send_wrapper)
            else:
                await self.admission.run(self.app, scope, receive_wrapper if capture else receive, send_wrapper)
        except BaseException:
            entry["internalError"] = True
            if capture:
                entry["body"] = _journal_body(body_parts, body_size[0], state)
            self._record(journal, entry, started, status_box[0] or 500, entry["fault"], state)
            raise
        if capture:
            entry["body"] = _journal_body(body_parts, body_size[0], state)
        self._record(journal, entry, started, status_box[0], entry["fault"], state)

    @staticmethod
    def _record(journal: Any, entry: dict[str, Any], started: float, status: int, fault: Any,
                state: dict[str, Any]) -> None:
        entry["status"] = status
        entry["durationMs"] = round((time.perf_counter() - started) * 1000, 3)
        entry["fault"] = fault
        face = state.get("journal")
        if isinstance(face, dict):
            # What the face decoded (api2: the msg parameters and the signature verdict).
            for key, value in face.items():
                if key != "api":
                    entry[key] = value
        journal.record(entry)


def _journal_body(parts: list[bytes], size: int, state: dict[str, Any]) -> Any:
    """The recorded body: the route's own parse when it made one (a body is parsed once), else ours."""
    if size <= MAX_JOURNAL_BODY and "journal_body" in state:
        return state["journal_body"]
    return _decode_body(parts, size)


def _decode_body(parts: list[bytes], size: int) -> Any:
    if size > MAX_JOURNAL_BODY:
        return {"_truncated": True, "_bytes": size}
    raw = b"".join(parts)
    if not raw:
        return None
    try:
        return jsondoc.loads(raw)  # within the limits: a body the face refused may be nested too deep
    except jsondoc.DocumentError:
        return raw[:1000].decode("utf-8", errors="replace")


def install(app: FastAPI) -> None:
    """Wrap the application's whole middleware stack (see the module docstring for why outermost)."""
    from lynkflow.direct import Direct

    build = app.build_middleware_stack

    def build_with_control() -> ASGIApp:
        # The hot api2 and VIS requests skip FastAPI's stack, inside this middleware (app/direct.py).
        return ControlMiddleware(Direct(build(), app), app.state.ctx)

    app.build_middleware_stack = build_with_control  # type: ignore[method-assign]
