"""Autoexpire: an asset whose `autoexpire` time has passed on the lynkflow clock is soft-deleted by
the workers' housekeeping loop (about once a second, in every worker pool, idempotently).
"""

from __future__ import annotations

from sqlalchemy import select, update

from lynkflow.context import AppContext
from lynkflow.db.models import UplynkAsset
from lynkflow.domain.uplynk_changes import record_change
from lynkflow.jobs import registry


def expire_due(ctx: AppContext) -> int:
    """Soft-delete every asset whose autoexpire time has passed on the lynkflow clock (idempotent)."""
    now = ctx.clock.now_ms()
    is_due = (UplynkAsset.autoexpire > 0) & (UplynkAsset.autoexpire <= now) & UplynkAsset.deleted.is_(None)
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
