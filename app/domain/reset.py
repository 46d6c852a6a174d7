"""Reset: remove data (database rows and stored files) and recreate the default accounts."""

from __future__ import annotations

import shutil

from app.context import AppContext
from app.db.wipe import wipe_all
from app.seeding import ensure_default_accounts


def reset_everything(ctx: AppContext) -> None:
    wipe_all(ctx.engine)
    for sub in ("media", "uplynk", "vis", "tmp"):
        shutil.rmtree(ctx.storage.root / sub, ignore_errors=True)
    ctx.storage.ensure()
    ensure_default_accounts(ctx)
