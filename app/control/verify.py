"""POST /_lynkflow/journal/verify: did the code under test send what it should have?

A verification names the requests it expects (api, method, route, status, tenant, signature verdict
and matchers on the decoded parameters: api2 `msg` members, VIS query and JSON body fields) and how
many (`exactly` or `at_least`). The answer says whether the count holds, which entries matched, and
on a miss the entries that came closest with what did not match in each, so a failing test says
"asset/get was called with id=abc, not id=abd" instead of "expected 1, got 0".

A `regex` matcher runs on the `regex` module, not `re`: its matches take a timeout and let other
threads run meanwhile, so a pattern that backtracks catastrophically ("(a|aa)+$") costs one thread
REGEX_SECONDS at most (in all, per verification or stub check) and a verification answers 400 saying
so, instead of hanging a worker thread (`re` holds the GIL: the whole process would stall). A stub
whose regex runs out of time does not match. Patterns are at most MAX_REGEX_CHARS long.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from lynkflow import limits
from lynkflow.control import docs_models as docs
from lynkflow.control.errors import ControlError, ControlRoute, request_json
from lynkflow.control.journal import JournalQuery, get_journal, route_matches

router = APIRouter(route_class=ControlRoute)

MATCH_KINDS = ("equals", "contains", "regex")
COUNT_KINDS = ("exactly", "at_least")
CLOSEST = 3
# All the regex matching one verification (or one request's stub check) may take, in seconds.
REGEX_SECONDS = 1.0
_FIELDS = {"api", "method", "route", "status", "tenant", "signature", "params", "count"}


class VerifyError(ValueError):
    """A verification that cannot be understood; the message says which part."""


class RegexTimeout(VerifyError):
    """A `regex` matcher that ran out of time (catastrophic backtracking, most likely)."""


class RegexBudget:
    """The time the regex matches of one verification (or one stub check) may take together.

    Only the time inside the matches counts, so a busy machine's waits elsewhere never use it up."""

    def __init__(self, seconds: float = REGEX_SECONDS) -> None:
        self.left = seconds

    def search(self, name: str, pattern: str, text: str) -> bool:
        import regex  # here, not at the top: few runs use a regex matcher, and start-up time counts

        started = time.monotonic()
        try:
            return regex.search(pattern, text, timeout=self.left) is not None
        except TimeoutError:
            raise RegexTimeout(f"params.{name}.regex {pattern[:80]!r} took longer than {REGEX_SECONDS:g} s "
                               "(it backtracks too much: make it simpler, e.g. no nested repeats like (a+)+)") \
                from None
        finally:
            self.left = max(self.left - (time.monotonic() - started), 0.0)


@dataclass(frozen=True)
class ParamMatcher:
    name: str
    kind: str  # equals | contains | regex
    value: Any

    @classmethod
    def parse(cls, name: str, spec: Any) -> ParamMatcher:
        if isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in MATCH_KINDS:
            kind, value = next(iter(spec.items()))
        else:
            kind, value = "equals", spec  # a bare value (even an object) is compared for equality
        if kind == "regex":
            if not isinstance(value, str):
                raise VerifyError(f"params.{name}.regex must be a regular expression string")
            if len(value) > limits.MAX_REGEX_CHARS:
                raise VerifyError(f"params.{name}.regex is {len(value)} characters long; at most "
                                  f"{limits.MAX_REGEX_CHARS} are allowed")
            import regex

            try:
                regex.compile(value)
            except regex.error as exc:
                raise VerifyError(f"params.{name}.regex is not a valid regular expression: {exc}") from None
        return cls(name, kind, value)

    def test(self, found: bool, value: Any, budget: RegexBudget) -> bool:
        """Whether the parameter (`found`, with `value`) satisfies this matcher; a regex match that
        would take more than what is left of `budget` raises RegexTimeout."""
        if not found:
            return False
        if self.kind == "equals":
            return value == self.value or (isinstance(value, str) and not isinstance(self.value, str)
                                           and value == str(self.value))
        if self.kind == "contains":
            if isinstance(value, str):
                return isinstance(self.value, str) and self.value in value
            if isinstance(value, list):
                return self.value in value
            if isinstance(value, dict) and isinstance(self.value, dict):
                return all(value.get(k) == v for k, v in self.value.items())
            return False
        return budget.search(self.name, self.value, value if isinstance(value, str) else str(value))

    def describe(self) -> str:
        return f"{self.name} {self.kind} {self.value!r}"


def entry_params(entry: dict[str, Any]) -> dict[str, Any]:
    """The decoded parameters of a journal entry: api2 `msg` members; VIS query then body fields."""
    if entry.get("api") == "uplynk":
        return dict(entry.get("params") or {})
    params: dict[str, Any] = dict(parse_qsl(entry.get("query") or "", keep_blank_values=True))
    body = entry.get("body")
    if isinstance(body, dict):
        params.update(body)
    return params


def _count(spec: Any) -> tuple[str, int]:
    if spec is None:
        return "at_least", 1
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in COUNT_KINDS:
        raise VerifyError('count must be {"exactly": N} or {"at_least": N}')
    kind, n = next(iter(spec.items()))
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise VerifyError(f"count.{kind} must be a whole number of requests (0 or more)")
    return kind, n


def verify(entries: list[dict[str, Any]], doc: dict[str, Any]) -> dict[str, Any]:
    """Match `entries` against the verification `doc` (already narrowed by api/method/tenant)."""
    unknown = sorted(set(doc) - _FIELDS)
    if unknown:
        raise VerifyError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")
    params = doc.get("params") or {}
    if not isinstance(params, dict):
        raise VerifyError("params must be an object of name: value or name: {equals|contains|regex: ...}")
    matchers = [ParamMatcher.parse(str(k), v) for k, v in params.items()]
    kind, n = _count(doc.get("count"))
    budget = RegexBudget()
    route, method, signature = doc.get("route"), doc.get("method"), doc.get("signature")
    matched: list[dict[str, Any]] = []
    scored: list[tuple[int, int, dict[str, Any]]] = []
    for entry in entries:
        misses: list[str] = []
        if route is not None and not route_matches(route, entry.get("route", "")):
            misses.append(f"route is {entry.get('route')!r}, not {route!r}")
        if method is not None and entry.get("method") != str(method).upper():
            misses.append(f"method is {entry.get('method')}, not {str(method).upper()}")
        if signature is not None and entry.get("signature") != signature:
            misses.append(f"signature is {entry.get('signature')!r}, not {signature!r}")
        values = entry_params(entry)
        for m in matchers:
            if not m.test(m.name in values, values.get(m.name), budget):
                misses.append(f"{m.name} is {values[m.name]!r}, wanted {m.kind} {m.value!r}"
                              if m.name in values else f"{m.name} was not sent")
        if misses:
            scored.append((len(misses), -int(entry.get("id", 0)), {**entry, "mismatches": misses}))
        else:
            matched.append(entry)
    ok = len(matched) == n if kind == "exactly" else len(matched) >= n
    closest = [] if ok else [e for _, _, e in sorted(scored, key=lambda t: (t[0], t[1]))[:CLOSEST]]
    return {"ok": ok, "count": len(matched), "expected": {kind: n}, "matched": matched, "closest": closest}


@router.post("/journal/verify", **docs.JOURNAL_VERIFY)
async def verify_journal(request: Request) -> dict[str, Any]:
    doc = await request_json(request, 'send {"route": ..., "params": {...}, "count": {"exactly": 1}}')
    if not isinstance(doc, dict):
        raise ControlError(400, 'send {"route": ..., "params": {...}, "count": {"exactly": 1}}')
    status = doc.get("status")
    try:
        # The index-friendly filters narrow the read; route, signature and params are matched here so
        # that a near miss can still be shown as one of the closest entries.
        query = JournalQuery(api=doc.get("api"), method=None, status=None if status is None else str(status),
                             tenant=doc.get("tenant") if isinstance(doc.get("tenant"), str) else None)
        if doc.get("tenant") is not None and not isinstance(doc.get("tenant"), str):
            raise VerifyError("tenant must be a tenant id")
        if doc.get("method") is not None and not isinstance(doc.get("method"), str):
            raise VerifyError("method must be an HTTP method like GET")
        if doc.get("route") is not None and not isinstance(doc.get("route"), str):
            raise VerifyError("route must be a path or a glob")
        entries = await run_in_threadpool(get_journal(request.app.state.ctx).entries, query)
        return await run_in_threadpool(verify, entries, doc)  # regex matching may take REGEX_SECONDS
    except (VerifyError, ValueError) as exc:
        raise ControlError(400, str(exc)) from None
