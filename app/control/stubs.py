"""Response stubs: canned answers for states lynkflow cannot reach from media by itself.

`POST /_lynkflow/stubs` with a face (`api`: uplynk or vuflow), a `route` (exact path or glob), an
optional `method`, matchers on the decoded parameters (`params`: api2 `msg` members, VIS query and
JSON body fields; each a value or `{"equals"|"contains"|"regex": ...}`, as in journal/verify), and
the answer: `status` (default 200) and `body`. An api2 body is the whole answer as api2 shapes it
(`{"asset": {...}}`; `"error": 0` is added when missing); a VIS body is sent as it is. A stub
answers `count` matching requests (null: until removed), optionally after `latencyMs`, and only
its `tenant`'s when it names one. Stubs answer before the face, as fault rules do (a fault rule
wins over a stub); the journal records such a request with `stub` set to the stub's id.

Like fault rules, stubs are rows every process shares (`control_stubs`), cached per process and
reloaded when the shared version moves; an answer uses one up with one guarded UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.types import Receive, Scope

from lynkflow import jsondoc
from lynkflow.control import docs_models as docs
from lynkflow.control import tenant_scope
from lynkflow.control.errors import ControlError, ControlRoute
from lynkflow.control.faults import MAX_LATENCY_MS
from lynkflow.control.journal import route_matches
from lynkflow.control.rulesets import RuleSet, RuleSpecError, add_from_request
from lynkflow.control.verify import ParamMatcher, RegexBudget, RegexTimeout, VerifyError
from lynkflow.db.models import ControlStub
from lynkflow.tenancy import is_tenant_id

router = APIRouter(route_class=ControlRoute)

_FIELDS = {"api", "route", "method", "params", "status", "body", "count", "latencyMs", "tenant"}


class StubSpecError(RuleSpecError):
    """A stub that cannot be understood; the message says which part."""


@dataclass
class Stub:
    id: str
    api: str
    route: str
    method: str = "*"
    params: list[ParamMatcher] = field(default_factory=list)
    status: int = 200
    body: Any = None
    count: int | None = None  # answers left; None: until removed
    latency_ms: int = 0
    tenant: str | None = None
    hits: int = 0
    doc: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, stub_id: str, doc: Any) -> Stub:
        if not isinstance(doc, dict):
            raise StubSpecError("a stub must be a JSON object")
        unknown = sorted(set(doc) - _FIELDS)
        if unknown:
            raise StubSpecError(f"unknown stub field(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")
        api = doc.get("api")
        if api not in ("uplynk", "vuflow"):
            raise StubSpecError("api must be uplynk or vuflow (the face whose answer this is)")
        route = doc.get("route")
        if not isinstance(route, str) or not route.startswith("/"):
            raise StubSpecError("route must be a path like /api2/asset/get or a glob like /api/asset/*")
        method = doc.get("method", "*")
        if not isinstance(method, str) or not method or not (method == "*" or method.isalpha()):
            raise StubSpecError("method must be an HTTP method like GET, or *")
        params = doc.get("params") or {}
        if not isinstance(params, dict):
            raise StubSpecError("params must be an object of name: value or name: {equals|contains|regex: ...}")
        try:
            matchers = [ParamMatcher.parse(str(k), v) for k, v in params.items()]
        except VerifyError as exc:
            raise StubSpecError(str(exc)) from None
        status = doc.get("status", 200)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise StubSpecError("status must be an HTTP status code (100-599)")
        body = doc.get("body")
        if api == "uplynk" and not isinstance(body, dict):
            raise StubSpecError('an api2 stub body must be a JSON object, e.g. {"asset": {...}}')
        count = doc.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise StubSpecError("count must be a positive integer (or null: until removed)")
        latency = doc.get("latencyMs", 0)
        if isinstance(latency, bool) or not isinstance(latency, int) or not 0 <= latency <= MAX_LATENCY_MS:
            raise StubSpecError(f"latencyMs must be milliseconds between 0 and {MAX_LATENCY_MS}")
        tenant = doc.get("tenant")
        if tenant is not None and not is_tenant_id(tenant):
            raise StubSpecError("tenant must be a tenant id (from POST /_lynkflow/tenants)")
        if api == "uplynk" and isinstance(body, dict) and "error" not in body:
            body = {**body, "error": 0}  # every api2 answer says whether it is an error
        return cls(id=stub_id, api=api, route=route, method=method.upper(), params=matchers, status=status,
                   body=body, count=count, latency_ms=latency, tenant=tenant, doc=doc)

    def to_json(self) -> dict[str, Any]:
        return {**self.doc, "id": self.id, "count": self.count, "hits": self.hits, "body": self.body,
                "method": self.method, "status": self.status, "tenant": self.tenant}

    def applies_to(self, api: str, path: str, method: str, tenant: str | None) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.api != api or (self.method != "*" and self.method != method):
            return False
        if self.tenant is not None and self.tenant != tenant:
            return False
        return route_matches(self.route, path)

    def matches(self, params: dict[str, Any]) -> bool:
        """Whether every matcher holds; a regex that runs out of time does not (the request then goes
        to the face, as when no stub matches: a stub must never make a request fail)."""
        budget = RegexBudget()
        try:
            return all(m.test(m.name in params, params.get(m.name), budget) for m in self.params)
        except RegexTimeout:
            return False


class StubSet(RuleSet[Stub]):
    """The stubs every process shares (table `control_stubs`; lynkflow/control/rulesets.py)."""

    table = ControlStub
    id_prefix = "s"

    def parse(self, rule_id: str, doc: Any) -> Stub:
        return Stub.from_json(rule_id, doc)

    def fire(self, candidates: list[Stub], params: dict[str, Any]) -> Stub | None:
        """The first candidate whose matchers hold, one of its answers used up atomically."""
        return self.use_first(candidates, lambda stub: stub.matches(params))


def get_stubs(ctx: Any) -> StubSet:
    return ctx.services.get(StubSet, lambda: StubSet(ctx.shared))


async def request_params(api: str, scope: Scope, receive: Receive) -> tuple[dict[str, Any], Receive]:
    """The decoded parameters a stub matches on (api2 msg members; VIS query then JSON body), and the
    `receive` that still delivers the whole body to the app."""
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    body = b""
    if scope.get("method") in ("POST", "PUT", "PATCH"):
        messages, body, complete = await tenant_scope.read_body(receive)
        receive = tenant_scope.replay(messages, receive)
        if not complete:
            body = b""
    if api == "uplynk":
        msg = query.get("msg")
        if msg is None and body:
            msg = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)).get("msg")
        doc = tenant_scope.decoded_msg(msg) or {}
        return {k: v for k, v in doc.items() if not k.startswith("_")}, receive
    params: dict[str, Any] = dict(query)
    if body:
        try:
            decoded = jsondoc.loads(body)
        except jsondoc.DocumentError:
            decoded = None
        if isinstance(decoded, dict):
            params.update(decoded)
    return params, receive


# --- routes ------------------------------------------------------------------------------------------


@router.post("/stubs", **docs.STUB_ADD)
async def add_stub(request: Request) -> dict[str, Any]:
    example = ('send a stub as a JSON object, e.g. {"api": "uplynk", "route": "/api2/asset/get", '
               '"params": {"id": "..."}, "body": {"asset": {...}}}')
    return await add_from_request(get_stubs(request.app.state.ctx), request, example)


@router.get("/stubs", **docs.STUBS_LIST)
def list_stubs(request: Request, tenant: str | None = None) -> dict[str, Any]:
    found = get_stubs(request.app.state.ctx).list()
    return {"stubs": [s for s in found if tenant is None or s["tenant"] == tenant]}


@router.delete("/stubs/{stub_id}", **docs.STUB_DELETE)
def delete_stub(request: Request, stub_id: str) -> dict[str, Any]:
    if not get_stubs(request.app.state.ctx).delete(stub_id):
        raise ControlError(404, f"no stub {stub_id[:40]!r}")
    return {"deleted": stub_id}


@router.delete("/stubs", **docs.STUBS_CLEAR)
def clear_stubs(request: Request, tenant: str | None = None) -> dict[str, Any]:
    return {"deleted": get_stubs(request.app.state.ctx).clear(tenant)}
