"""PostgreSQL: two commits that change the two faces' tables in opposite orders both commit.

Each commit bumps the data version of every face whose tables it changed (db/data_version.py), and
a bump locks a counter row until the commit ends. If a bump locked only its own counter, a
transaction that changed Uplynk then VIS rows and one that changed them the other way round could
each hold one counter and wait for the other: PostgreSQL would abort one of them as a deadlock (a
failed api2 or VIS write under plain concurrent load). The first bump of a transaction locks every
counter in name order, so the second of the two waits before it holds anything.

`SET CONSTRAINTS ALL IMMEDIATE` fires the deferred bump triggers at a chosen point, which makes the
interleaving that deadlocked deterministic."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from lynkflow.db.engine import make_engine
from lynkflow.shared import UPLYNK_ROW, VIS_ROW
from tests.conftest import BACKEND, wait_for
from tests.uplynk.conftest import make_asset
from tests.vuflow.helpers import make_vuflow

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="SQLite runs one write transaction at a time")

_TOUCH = {"uplynk": "UPDATE uplynk_assets SET lastmod = lastmod + 1 WHERE id = :id",
          "vis": "UPDATE vis_vuflows SET name = name WHERE id = :id"}


def _versions(conn: sa.Connection) -> dict[str, int]:
    rows = conn.execute(sa.text("SELECT name, version FROM control_state WHERE name IN (:u, :v)"),
                        {"u": UPLYNK_ROW, "v": VIS_ROW})
    return dict(rows.tuples().all())


def _waiting_on_a_lock(engine: sa.Engine, pid: int) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :p"),
                            {"p": pid}).scalar_one()


def test_commits_changing_both_faces_in_opposite_orders_both_commit(ctx) -> None:
    assets = [make_asset(ctx, desc=f"asset {i}") for i in range(2)]
    flows = [make_vuflow(ctx, ctx.settings.vuflow_api_key) for _ in range(2)]
    engine = make_engine(ctx.settings.database_url)
    try:
        with engine.connect() as conn:
            before = _versions(conn)
        first, second = engine.connect(), engine.connect()
        second_pid = second.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        second.rollback()  # ends the read's transaction: the thread begins its own
        failures: list[BaseException] = []

        # The first transaction changes an Uplynk row and bumps `_uplynk` now.
        first.begin()
        first.execute(sa.text(_TOUCH["uplynk"]), {"id": assets[0]})
        first.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")

        def vis_then_uplynk() -> None:
            try:
                with second.begin():
                    second.execute(sa.text(_TOUCH["vis"]), {"id": flows[1]})
                    second.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")  # bumps `_vis`
                    second.execute(sa.text(_TOUCH["uplynk"]), {"id": assets[1]})
            except BaseException as exc:  # noqa: BLE001 - reported by the test's thread
                failures.append(exc)

        other = threading.Thread(target=vis_then_uplynk)
        other.start()
        # The second transaction now waits on a counter: at its `_vis` bump (both counters locked by
        # the first), or, were each counter locked alone, at its commit's `_uplynk` bump.
        wait_for(lambda: failures or _waiting_on_a_lock(engine, second_pid), timeout=10)
        assert failures == []
        first.execute(sa.text(_TOUCH["vis"]), {"id": flows[0]})
        first.commit()  # bumps `_vis`: a deadlock here, were `_vis` held by the second transaction
        other.join(10)
        assert not other.is_alive()
        assert failures == []
        first.close()
        second.close()
        with engine.connect() as conn:
            after = _versions(conn)
        assert after == {name: version + 2 for name, version in before.items()}
    finally:
        engine.dispose()
