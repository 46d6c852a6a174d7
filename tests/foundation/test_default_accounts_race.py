"""Default accounts made by several connections at once (processes starting together on one database):
none of them fails on a row another one inserted (app/db/idempotent.py)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from lynkflow.db.models import UplynkOwner, VisApiKey, VisVuflow
from lynkflow.db.wipe import wipe_all
from lynkflow.seeding import _ensure_default_accounts


def _make(ctx, barrier: threading.Barrier, errors: list[BaseException]) -> None:  # noqa: ANN001
    try:
        barrier.wait()
        _ensure_default_accounts(ctx)  # one pass: no retry to hide a collision
    except BaseException as exc:  # noqa: BLE001 - collected and asserted by the test
        errors.append(exc)


def test_connections_making_the_default_accounts_at_once_all_succeed(ctx) -> None:
    racers = 6
    for _ in range(5):  # a few rounds: the window between a look and an insert is short
        wipe_all(ctx.engine)
        barrier = threading.Barrier(racers)
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_make, args=(ctx, barrier, errors)) for _ in range(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with ctx.session() as db:
            assert db.scalar(select(func.count()).select_from(UplynkOwner)) == 1
            assert db.scalar(select(func.count()).select_from(VisApiKey)) == 1
            assert db.scalar(select(func.count()).select_from(VisVuflow)) == 1
