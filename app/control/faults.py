"""Fault injection: rules (and a per-request header) that make API requests fail, slow or vanish.

A rule matches by API (`uplynk`, `vuflow` or `*`), route (exact path or glob; a VIS route without
the `/api` prefix matches both mounts) and method, fires with a probability, and stops after
`count` hits (null = forever). Its action is one of

- `error`: answer at once in the API's own dialect — api2: HTTP 200 `{"error": 1, "msg": ...}`;
  VIS: HTTP 4xx/5xx `{exceptionType, exceptionMessage, errorType, data}`;
- `latency`: wait `latencyMs` (a number, or `[min, max]` for a random wait), then serve normally;
- `drop`: close the connection without any answer.

A rule with `tenant` applies only to that tenant's requests (lynkflow/tenancy.py).
`latencyMs` also works with `error` and `drop` (wait first). Per request, the header
`X-Lynkflow-Fault: error[=STATUS] | latency=MS[-MS] | drop` (comma-separated to combine, message in
`X-Lynkflow-Fault-Message`) asks for the same without touching shared rules, so parallel tests
cannot disturb each other. Uplynk signs only `msg`, so the header never affects a signature.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from lynkflow.control.journal import route_matches
from lynkflow.control.rulesets import RuleSet, RuleSpecError
from lynkflow.db.models import ControlFault
from lynkflow.shared import SharedState
from lynkflow.tenancy import is_tenant_id
from lynkflow.uplynk import errors as api2_errors
from lynkflow.vuflow.errors import VisError, transaction_headers

ACTIONS = ("error", "latency", "drop")
FAULT_HEADER = "x-lynkflow-fault"
FAULT_MESSAGE_HEADER = "x-lynkflow-fault-message"
MAX_LATENCY_MS = 600_000

class FaultSpecError(RuleSpecError):
    """A rule or header that cannot be understood; the message says which part and why."""


@dataclass
class Fault:
    """What to do to one request."""

    action: str
    source: str  # "header" or "rule:<id>"
    status: int | None = None
    message: str | None = None
    latency_ms: int = 0

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "source": self.source}
        if self.latency_ms:
            out["latencyMs"] = self.latency_ms
        if self.action == "error":
            out["status"] = self.status
        return out


def _latency(value: Any, where: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise FaultSpecError(f"{where} must be milliseconds or [min, max] milliseconds")
    if isinstance(value, int | float):
        lo = hi = int(value)
    elif isinstance(value, list | tuple) and len(value) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        lo, hi = int(value[0]), int(value[1])
    else:
        raise FaultSpecError(f"{where} must be milliseconds or [min, max] milliseconds, got {value!r}")
    if not 0 <= lo <= hi <= MAX_LATENCY_MS:
        raise FaultSpecError(f"{where} must satisfy 0 <= min <= max <= {MAX_LATENCY_MS} ms")
    return lo, hi


def _status(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 200 <= value <= 599:
        raise FaultSpecError(f"{where} must be an HTTP status between 200 and 599, got {value!r}")
    return value


@dataclass
class FaultRule:
    id: str
    action: str
    api: str = "*"
    route: str = "*"
    method: str = "*"
    probability: float = 1.0
    count: int | None = None  # hits left; None = unlimited
    status: int | None = None
    message: str | None = None
    latency: tuple[int, int] | None = None
    hits: int = 0
    tenant: str | None = None  # only this tenant's requests (lynkflow/tenancy.py); None: everyone's

    @classmethod
    def from_json(cls, rule_id: str, doc: Any) -> FaultRule:
        if not isinstance(doc, dict):
            raise FaultSpecError("a fault rule must be a JSON object")
        known = {"api", "route", "method", "probability", "count", "action", "status", "message", "latencyMs",
                 "tenant"}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise FaultSpecError(f"unknown fault rule field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        action = doc.get("action")
        if action not in ACTIONS:
            raise FaultSpecError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
        api = doc.get("api", "*")
        if api not in ("uplynk", "vuflow", "*"):
            raise FaultSpecError(f"api must be uplynk, vuflow or *, got {api!r}")
        route = doc.get("route", "*")
        if not isinstance(route, str) or not route or not (route.startswith("/") or route[0] in "*?["):
            raise FaultSpecError("route must be a path like /api2/asset/get or a glob like /api/event/*")
        method = doc.get("method", "*")
        if not isinstance(method, str) or not method:
            raise FaultSpecError("method must be an HTTP method like GET, or *")
        probability = doc.get("probability", 1.0)
        if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 < probability <= 1:
            raise FaultSpecError("probability must be a number in (0, 1]")
        count = doc.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise FaultSpecError("count must be a positive integer (or null for no limit)")
        message = doc.get("message")
        if message is not None and not isinstance(message, str):
            raise FaultSpecError("message must be a string")
        latency = _latency(doc.get("latencyMs"), "latencyMs")
        tenant = doc.get("tenant")
        if tenant is not None and not is_tenant_id(tenant):
            raise FaultSpecError("tenant must be a tenant id (from POST /_lynkflow/tenants)")
        if action == "latency" and latency is None:
            raise FaultSpecError("a latency rule needs latencyMs (milliseconds, or [min, max])")
        return cls(id=rule_id, action=action, api=api, route=route, method=method.upper(),
                   probability=float(probability), count=count, status=_status(doc.get("status"), "status"),
                   message=message, latency=latency, tenant=tenant)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "api": self.api, "route": self.route, "method": self.method,
                "probability": self.probability, "count": self.count, "hits": self.hits, "status": self.status,
                "message": self.message, "tenant": self.tenant,
                "latencyMs": None if self.latency is None else (
                    self.latency[0] if self.latency[0] == self.latency[1] else list(self.latency))}

    def applies_to(self, api: str, path: str, method: str, tenant: str | None = None) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.tenant is not None and self.tenant != tenant:
            return False
        if self.api != "*" and self.api != api:
            return False
        if self.method != "*" and self.method != method:
            return False
        return self.route == "*" or route_matches(self.route, path)


class FaultSet(RuleSet[FaultRule]):
    """The fault rules every process shares (table `control_faults`; lynkflow/control/rulesets.py).

    Matching runs on the per-process cache, in memory; firing a matched rule counts the hit and
    uses up one of its `count` atomically, so a `count: 1` rule fires exactly once across processes.
    """

    table = ControlFault
    id_prefix = "f"

    def __init__(self, shared: SharedState) -> None:
        super().__init__(shared)
        self.rng = random.Random()
        self._lock = threading.Lock()  # the Random is shared by the request threads

    def parse(self, rule_id: str, doc: Any) -> FaultRule:
        return FaultRule.from_json(rule_id, doc)

    def fire(self, candidates: list[FaultRule]) -> Fault | None:
        """The first candidate that fires (its probability rolled), its hit counted atomically."""
        rule = self.use_first(candidates, self._rolls)
        if rule is None:
            return None
        latency = 0 if rule.latency is None else self.random_latency(*rule.latency)
        return Fault(action=rule.action, source=f"rule:{rule.id}", status=rule.status,
                     message=rule.message, latency_ms=latency)

    def _rolls(self, rule: FaultRule) -> bool:
        return rule.probability >= 1.0 or self.random_probability() < rule.probability

    def random_probability(self) -> float:
        with self._lock:
            return self.rng.random()

    def random_latency(self, lo: int, hi: int) -> int:
        with self._lock:
            return self.rng.randint(lo, hi)


def parse_header(value: str, message: str | None, faults: FaultSet) -> Fault:
    """`error[=STATUS]`, `latency=MS` or `latency=MIN-MAX`, `drop`; comma-separated to combine."""
    action = None
    status = None
    latency_ms = 0
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        name, _, arg = part.partition("=")
        name, arg = name.strip().lower(), arg.strip()
        if name == "latency":
            lo_s, _, hi_s = arg.partition("-")
            try:
                lo = int(lo_s)
                hi = int(hi_s) if hi_s else lo
            except ValueError:
                raise FaultSpecError(f"latency needs milliseconds, like latency=200 or latency=100-300; got {part!r}") \
                    from None
            _latency([lo, hi], "latency")
            latency_ms = faults.random_latency(lo, hi)
        elif name in ("error", "drop"):
            if action is not None:
                raise FaultSpecError("ask for only one of error or drop")
            action = name
            if name == "error" and arg:
                if not arg.isdigit():
                    raise FaultSpecError(f"error=STATUS needs a number like error=503; got {part!r}")
                status = _status(int(arg), "error status")
            elif name == "drop" and arg:
                raise FaultSpecError("drop takes no value")
        else:
            raise FaultSpecError(f"unknown fault {name!r}: use error[=STATUS], latency=MS[-MS] or drop")
    if action is None and not latency_ms and "latency" not in value.lower():
        raise FaultSpecError("X-Lynkflow-Fault is empty: use error[=STATUS], latency=MS[-MS] or drop")
    return Fault(action=action or "latency", source="header", status=status, message=message,
                 latency_ms=latency_ms)


def error_body(api: str, fault: Fault, method: str, path: str,
               transaction: str | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The injected error in the API's own dialect: (HTTP status, JSON body, headers to add)."""
    if api == "uplynk":
        msg = fault.message or f"Internal error: the request failed ({fault.source} injected by lynkflow)"
        return fault.status or 200, api2_errors.error_body(msg), {}
    status = fault.status or 500
    message = fault.message or (f"Unable to complete {method} {path} because of an error injected by "
                                f"lynkflow ({fault.source})")
    return status, VisError(status, message, "InjectedFault").body(), transaction_headers(transaction)


def get_faults(ctx: Any) -> FaultSet:
    return ctx.services.get(FaultSet, lambda: FaultSet(ctx.shared))
