"""Autoexpire: an asset whose `autoexpire` time has passed on the lynkflow clock is soft-deleted by
the workers' housekeeping loop (about once a second, in every worker pool, idempotently).
"""

from __future__ import annotations

from sqlalchemy import select, update

from lynkflow.context import AppContext
from lynkflow.db.models import UplynkAsset
from lynkflow.domain.uplynk_changes import record_change
from lynkflow.jobs import registry
from lynkflow.tenancy import owners_with_own_clock, tenant_scope


def expire_due(ctx: AppContext) -> int:
    """Soft-delete every asset whose autoexpire time has passed on the lynkflow clock (idempotent).

    A tenant with a clock of its own (lynkflow/tenancy.py) has its owner's assets judged by that
    clock, and the instance clock judges everyone else's.
    """
    own_clocks = owners_with_own_clock(ctx)
    count = _expire(ctx, ctx.clock.now_ms(), exclude=set(own_clocks))
    for owner, tenant in own_clocks.items():
        with tenant_scope(tenant):
            count += _expire(ctx, ctx.clock.now_ms(), owner=owner)
    return count


def _expire(ctx: AppContext, now: int, *, owner: str | None = None, exclude: set[str] | None = None) -> int:
    is_due = (UplynkAsset.autoexpire > 0) & (UplynkAsset.autoexpire <= now) & UplynkAsset.deleted.is_(None)
    if owner is not None:
        is_due &= UplynkAsset.owner_id == owner
    if exclude:
        is_due &= UplynkAsset.owner_id.not_in(exclude)
    # A look without the write lock first: this runs every second in every idle worker pool.
    with ctx.read_session() as db:
        if db.scalar(select(UplynkAsset.id).where(is_due).limit(1)) is None:
            return 0
    with ctx.session() as db:
        due = list(db.scalars(select(UplynkAsset).where(is_due).limit(1000)))
        for asset in due:
            # Guarded update: on a shared database another worker pool may expire it at the same time.
            res = db.execute(update(UplynkAsset).where(UplynkAsset.id == asset.id, UplynkAsset.deleted.is_(None))
                             .values(deleted=now, lastmod=now).execution_options(synchronize_session=False))
            if res.rowcount:
                record_change(db, ctx, asset, "delete", now)
        return len(due)


registry.periodic(expire_due)
