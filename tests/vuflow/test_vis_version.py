"""The VIS version (db/data_version.py) under kept VIS list answers (kept_answers.py): a change to any
table a list is made of — any statement, straight into the database, a reset, a snapshot restore, on
PostgreSQL a TRUNCATE — is in the next answer; commits to other tables leave the kept answer standing."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from lynkflow import ids
from lynkflow.db.data_version import VERSIONS, VIS
from lynkflow.db.models import Base, Media
from lynkflow.domain import vis_assets, vis_events
from tests.conftest import BACKEND
from tests.vuflow.helpers import make_vuflow
from tests.vuflow.test_hot_reads import _asset


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """One entry per asset list read from the database from now on."""
    reads: list[None] = []
    real = vis_assets.list_assets

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(None)
        return real(*args, **kwargs)

    monkeypatch.setattr(vis_assets, "list_assets", counted)
    return reads


def _names(client: Any, headers: dict[str, str]) -> list[str]:
    return [a["name"] for a in client.get("/api/asset/", headers=headers).json()]


def _spare_rows(client: Any, key: str) -> dict[str, str]:
    """An asset shown in the list, and for each other feeding table a row nothing refers to: its id."""
    ctx = client.app.state.ctx
    flow = make_vuflow(ctx, key, "{lynkflow}/storage/vis")
    with ctx.session() as db:
        event_id = vis_events.create_event(db, ctx, key, title="t", vuflow_id=flow).id
        spare_event = vis_events.create_event(db, ctx, key, title="spare").id
        media = Media(id=ids.hex32(), original_filename="a.mp4", source_path="media/a.mp4", created=1, updated=1)
        db.add(media)
    return {"vis_assets": _asset(ctx, key, event_id, "a.gif"), "vis_events": spare_event,
            "vis_vuflows": make_vuflow(ctx, key), "media": media.id}


@pytest.mark.parametrize("table", VIS.tables)
def test_every_statement_on_a_feeding_table_is_in_the_next_answer(client, vis_headers, monkeypatch,
                                                                   table: str) -> None:
    """An UPDATE, DELETE or INSERT straight into the database, as a worker or another process writes:
    the next list is read afresh (each kind is a trigger of its own)."""
    ctx = client.app.state.ctx
    row_id = _spare_rows(client, vis_headers["API-KEY"])[table]
    t = Base.metadata.tables[table]
    with ctx.engine.connect() as conn:
        row = dict(conn.execute(sa.select(t).where(t.c.id == row_id)).mappings().one())
    reads = _reads(monkeypatch)
    for kind, statement in (("update", sa.update(t).where(t.c.id == row_id).values(id=row_id)),
                            ("delete", sa.delete(t).where(t.c.id == row_id)),
                            ("insert", sa.insert(t).values(row))):
        first = _names(client, vis_headers)
        kept = len(reads)
        assert _names(client, vis_headers) == first and len(reads) == kept, kind  # asked again: kept
        with ctx.engine.begin() as conn:
            conn.execute(statement)
        assert _names(client, vis_headers) == (first if table != "vis_assets" or kind == "update" else
                                               [] if kind == "delete" else ["a.gif"]), kind
        assert len(reads) == kept + 1, kind


@pytest.mark.skipif(BACKEND != "postgres", reason="TRUNCATE is PostgreSQL's (SQLite's DELETE fires row triggers)")
@pytest.mark.parametrize("table", VIS.tables)
def test_a_truncate_is_in_the_next_answer(client, vis_headers, table: str) -> None:
    ctx = client.app.state.ctx
    _spare_rows(client, vis_headers["API-KEY"])
    assert _names(client, vis_headers) == ["a.gif"] == _names(client, vis_headers)
    with ctx.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")
    assert _names(client, vis_headers) == []  # every feeding table is vis_assets or cascades to it


def test_commits_to_other_tables_leave_the_kept_answer_standing(client, vis_headers, monkeypatch) -> None:
    """The journal's flush (every request here is journaled) and any write outside the feeding tables
    (api2's replay records, Uplynk rows) are commits that do not change a VIS list."""
    ctx = client.app.state.ctx
    _spare_rows(client, vis_headers["API-KEY"])
    assert _names(client, vis_headers) == ["a.gif"]
    reads = _reads(monkeypatch)
    for n in range(3):
        with ctx.engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO control_replay (key, expires_ms) VALUES ('r{n}', 1)")
            conn.exec_driver_sql("UPDATE uplynk_owners SET name = name")
        time.sleep(0.05)  # the journal's flush of the requests so far lands meanwhile
        assert _names(client, vis_headers) == ["a.gif"]
    assert reads == []


def test_reset_and_snapshot_restore_are_in_the_next_answer(client, vis_headers) -> None:
    _spare_rows(client, vis_headers["API-KEY"])
    assert _names(client, vis_headers) == ["a.gif"] == _names(client, vis_headers)
    snapshot = client.get("/_lynkflow/snapshot").content
    assert client.post("/_lynkflow/reset", json={"visKey": vis_headers["API-KEY"]}).status_code == 200
    assert _names(client, vis_headers) == [] == _names(client, vis_headers)
    assert client.post("/_lynkflow/reset").status_code == 200  # a snapshot goes into an empty instance
    assert client.post("/_lynkflow/snapshot", content=snapshot).status_code == 200
    assert _names(client, vis_headers) == ["a.gif"] == _names(client, vis_headers)
    assert client.post("/_lynkflow/reset").status_code == 200
    assert _names(client, vis_headers) == []


def test_every_feeding_table_has_its_triggers_at_head(client) -> None:
    """A migration that recreates a feeding table (SQLite's batch mode copies it) drops its triggers:
    they must be made again. Every data version's (`_vis`, and `_uplynk`: tests/uplynk/test_uplynk_version.py)."""
    engine = client.app.state.ctx.engine
    with engine.connect() as conn:
        if BACKEND == "postgres":
            found = conn.exec_driver_sql("SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                                         "WHERE NOT tgisinternal")
        else:
            found = conn.exec_driver_sql("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
        found = set(map(tuple, found))
    for version in VERSIONS:
        assert set(version.triggers(engine.dialect.name)) <= found, version.row
