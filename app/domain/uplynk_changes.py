"""The Uplynk change log (`uplynk_changes`), which `asset/changes` reads: creations, updates and
state changes are "update", deletions "delete". Every visible change of an asset appends one row.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lynkflow.context import AppContext
from lynkflow.db.models import UplynkAsset, UplynkChange

# Built once, on the Core table: every asset write appends a row, and a Core insert skips the ORM's
# unit of work for an object nothing reads back (no identity map entry). Inline: nothing reads the new
# id either, so PostgreSQL is not asked to return it (no RETURNING and no result to set up).
_APPEND = UplynkChange.__table__.insert().inline()


def record_change(db: Session, ctx: AppContext, asset: UplynkAsset, action: str, at_ms: int | None = None) -> None:
    db.execute(_APPEND, {"owner_id": asset.owner_id, "asset_id": asset.id, "action": action,
                         "at_ms": ctx.clock.now_ms() if at_ms is None else at_ms})


def changes_since(db: Session, owner_id: str, start: int, end: int, cap: int) -> tuple[list[UplynkChange], int]:
    """Changes with start <= at <= end (inclusive), at most about `cap`; returns (changes, batch end).

    When more than `cap` changes are due, the batch ends at the time of the cap-th change and
    includes every change at that same millisecond, so a caller that restarts from `end` (bounds
    are inclusive) can never loop on a run of same-millisecond changes.
    """
    base = select(UplynkChange).where(UplynkChange.owner_id == owner_id, UplynkChange.at_ms >= start,
                                      UplynkChange.at_ms <= end).order_by(UplynkChange.at_ms, UplynkChange.id)
    rows = list(db.scalars(base.limit(cap + 1)))
    if len(rows) <= cap:
        return rows, end
    batch_end = rows[cap - 1].at_ms
    head = [r for r in rows if r.at_ms < batch_end]
    tail = list(db.scalars(base.where(UplynkChange.at_ms == batch_end)))
    return head + tail, batch_end
