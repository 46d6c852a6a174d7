"""Rule sets over a table: the fault rules (faults.py) and the stubs (stubs.py) share one machinery.

A rule set is rows every process shares (`control_faults`, `control_stubs`: id, seq, the rule's JSON
`doc`, `remaining` answers and `hits`), matched against requests from a per-process cache
(lynkflow/shared_cache.py), so a request with no rule to consider does no database work. Using a
matched rule is one guarded UPDATE that counts the hit and takes one from `remaining` only while some
are left, so a `count: 1` rule fires exactly once across all processes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import case, delete, func, insert, or_, select, update

from lynkflow.control.errors import ControlError, request_json
from lynkflow.db.models import ControlFault, ControlStub
from lynkflow.shared import SharedState, bump
from lynkflow.shared_cache import SharedCache


class RuleSpecError(ValueError):
    """A rule that cannot be understood; the message says which part and why (answered as a 400)."""


class Rule(Protocol):
    """What a rule set needs of its rules."""

    id: str
    count: int | None  # answers left; None = unlimited
    hits: int
    tenant: str | None

    def to_json(self) -> dict[str, Any]: ...

    def applies_to(self, api: str, path: str, method: str, tenant: str | None) -> bool: ...


R = TypeVar("R", bound=Rule)


class RuleSet(Generic[R]):
    """The rules of one table, shared by every process; a subclass names the table and the parser."""

    table: ClassVar[type[ControlFault] | type[ControlStub]]
    id_prefix: ClassVar[str]  # ids are the prefix and the row's seq: f1, f2, … / s1, s2, …

    def __init__(self, shared: SharedState) -> None:
        self.shared = shared
        self._id_pattern = re.compile(rf"{self.id_prefix}[0-9]{{1,18}}")
        self._cache: SharedCache[list[R]] = SharedCache(shared, self._load, [])

    def parse(self, rule_id: str, doc: Any) -> R:
        """The rule `doc` describes; raises a RuleSpecError with the reason."""
        raise NotImplementedError

    def _load(self) -> list[R]:
        t = self.table
        with self.shared.engine.connect() as conn:
            rows = conn.execute(select(t.id, t.doc, t.remaining, t.hits).order_by(t.seq)).all()
        rules = []
        for rule_id, doc, remaining, hits in rows:
            rule = self.parse(rule_id, json.loads(doc))
            rule.count, rule.hits = remaining, hits
            rules.append(rule)
        return rules

    def add(self, doc: Any) -> R:
        probe = self.parse("", doc)  # checked before anything is written
        t = self.table
        with self.shared.writer().begin() as conn:
            bump(conn)  # first: it also serialises concurrent adds (the version row's lock)
            seq = (conn.execute(select(func.max(t.seq))).scalar() or 0) + 1
            probe.id = f"{self.id_prefix}{seq}"
            conn.execute(insert(t).values(id=probe.id, seq=seq, doc=json.dumps(doc), remaining=probe.count, hits=0))
        self.shared.refresh()
        return probe

    def delete(self, rule_id: str) -> bool:
        if not self._id_pattern.fullmatch(rule_id):
            return False  # not an id this set ever gave out (and not text a database column holds)
        with self.shared.writer().begin() as conn:
            deleted = conn.execute(delete(self.table).where(self.table.id == rule_id)).rowcount
            if deleted:
                bump(conn)
        self.shared.refresh()
        return bool(deleted)

    def clear(self, tenant: str | None = None) -> int:
        """Remove every rule; or, with `tenant`, that tenant's only. Returns how many went."""
        query = delete(self.table)
        if tenant is not None:
            ids = [r.id for r in self._load() if r.tenant == tenant]
            if not ids:
                return 0  # nothing to write (a tenant reset with no rules costs one read)
            query = query.where(self.table.id.in_(ids))
        with self.shared.writer().begin() as conn:
            deleted = conn.execute(query).rowcount
            if deleted:
                bump(conn)
        self.shared.refresh()
        return deleted

    def list(self) -> list[dict[str, Any]]:
        """Every rule with its hits and remaining count as of now, across all processes."""
        return [r.to_json() for r in self._load()]

    def candidates(self, api: str, path: str, method: str, tenant: str | None = None) -> list[R]:
        """Rules that match the request, from the cache (no database work when it is fresh)."""
        return [r for r in self._cache.get() if r.applies_to(api, path, method, tenant)]

    def use_first(self, candidates: list[R], wanted: Callable[[R], bool]) -> R | None:
        """The first candidate that is `wanted` and still has an answer left, that answer used up."""
        t = self.table
        for rule in candidates:
            if not wanted(rule):
                continue
            with self.shared.writer().begin() as conn:
                used = conn.execute(update(t)
                                    .where(t.id == rule.id, or_(t.remaining.is_(None), t.remaining > 0))
                                    .values(hits=t.hits + 1,
                                            remaining=case((t.remaining.is_(None), None),
                                                           else_=t.remaining - 1))).rowcount
            if used:
                return rule
            rule.count = 0  # used up (or deleted) by another request meanwhile: skip it from now on
        return None


async def add_from_request(rules: RuleSet[Any], request: Request, example: str) -> dict[str, Any]:
    """POST handler body: the rule in the request's JSON added (`example` shows a valid one), or a 400."""
    doc = await request_json(request, example)
    try:
        rule = await run_in_threadpool(rules.add, doc)
    except RuleSpecError as exc:
        raise ControlError(400, str(exc)) from None
    return rule.to_json()
