"""api2 asset/list answers kept under the Uplynk data version (db/data_version.py, kept_answers.py): a list
asked again is the same bytes without a read; a change to any table an answer is made of — through
api2, any statement straight into the database or through another engine, a reset, a snapshot restore,
on PostgreSQL a TRUNCATE — is in the next answer; owners and base URLs never share an answer; commits
to other tables leave the kept answer standing."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from lynkflow import ids
from lynkflow.db.data_version import UPLYNK
from lynkflow.db.engine import make_engine
from lynkflow.db.models import Base, Media
from lynkflow.uplynk import dispatch
from tests.conftest import BACKEND, UplynkCaller
from tests.uplynk.conftest import make_asset, other_owner
from tests.vuflow.helpers import make_vuflow


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per api2 operation run from now on (a kept answer runs none)."""
    reads: list[str] = []
    real = dispatch.run

    def counted(call: Any, op: Any) -> Any:
        reads.append(op.fn.__name__)
        return real(call, op)

    monkeypatch.setattr(dispatch, "run", counted)
    return reads


def _listed(api: UplynkCaller, **params: Any) -> dict[str, Any]:
    out = api.ok("asset/list", **params)
    return {name: out[name] for name in ("assets", "shared_assets") if name in out}


def _seeded(client: Any, api: UplynkCaller) -> tuple[UplynkCaller, dict[str, dict[str, Any]]]:
    """Another owner B, and an asset of A's with media in a library shared with B: B's list shows it as
    shared. For each feeding table, the primary key of a row of it (media: one nothing refers to)."""
    ctx = client.app.state.ctx
    b = other_owner(client)
    asset = make_asset(ctx, desc="lighthouse keeper")
    lib = api.ok("library/create", desc="shared")["library"]["id"]
    api.ok("library/add", id=lib, asset_id=asset)
    api.ok("library/share", id=lib, owner=b.owner)
    with ctx.session() as db:
        spare = Media(id=ids.hex32(), original_filename="a.mp4", source_path="media/a.mp4", created=1, updated=1)
        db.add(spare)
    with ctx.engine.connect() as conn:
        player_id = conn.execute(sa.text("SELECT id FROM uplynk_test_players WHERE asset_id = :a"),
                                 {"a": asset}).scalar_one()
        term = conn.execute(sa.text("SELECT field, term FROM uplynk_asset_terms WHERE asset_id = :a"),
                            {"a": asset}).first()
    return b, {"uplynk_assets": {"id": asset},
               "uplynk_asset_terms": {"asset_id": asset, "field": term.field, "term": term.term},
               "uplynk_test_players": {"id": player_id},
               "uplynk_library_assets": {"library_id": lib, "asset_id": asset},
               "uplynk_library_shares": {"library_id": lib, "owner_id": b.owner},
               "media": {"id": spare.id}}


def _where(table: sa.Table, key: dict[str, Any]) -> Any:
    return sa.and_(*[table.c[name] == value for name, value in key.items()])


def test_a_list_asked_again_is_the_same_answer_and_runs_nothing(client, api, monkeypatch) -> None:
    b, rows = _seeded(client, api)
    reads = _reads(monkeypatch)
    for caller, params in ((api, {}), (b, {}), (api, {"query": "lighthouse", "limit": 5}),
                           (b, {"search": "keeper", "ignore_shared_libraries": 0})):
        first = caller.ok("asset/list", **params)
        read = len(reads)
        again = caller.ok("asset/list", **params)
        assert again == first and len(reads) == read, params
    assert _listed(b)["shared_assets"][0]["id"] == rows["uplynk_assets"]["id"]
    assert len(reads) == 4
    answers = [client.post("/api2/asset/list", data=api.pair({"limit": 3})) for _ in range(2)]
    assert [(r.status_code, sorted(r.headers.items()), r.content) for r in answers].count(
        (answers[0].status_code, sorted(answers[0].headers.items()), answers[0].content)) == 2  # byte for byte
    assert len(reads) == 5


def test_updates_and_deletes_through_api2_are_in_the_next_list(client, api) -> None:
    b, rows = _seeded(client, api)
    asset = rows["uplynk_assets"]["id"]
    assert _listed(api)["assets"][0]["desc"] == "lighthouse keeper" == _listed(b)["shared_assets"][0]["desc"]
    api.ok("asset/update", id=asset, desc="renamed", test_player_url=1)
    assert _listed(api)["assets"][0]["desc"] == "renamed" == _listed(b)["shared_assets"][0]["desc"]
    assert len(_listed(api)["assets"][0]["test_players"]) == 2  # a test-player change
    api.ok("library/remove", id=rows["uplynk_library_assets"]["library_id"], asset_id=asset)
    assert _listed(b)["shared_assets"] == [] and _listed(api)["assets"][0]["libraries"] == []
    api.ok("asset/delete", ids=asset)
    assert _listed(api)["assets"] == []


def test_a_share_change_is_in_the_next_list(client, api) -> None:
    ctx = client.app.state.ctx
    b, rows = _seeded(client, api)
    assert len(_listed(b)["shared_assets"]) == 1
    with ctx.engine.begin() as conn:  # unsharing (library/share only adds): straight into the database
        conn.execute(sa.text("DELETE FROM uplynk_library_shares"))
    assert _listed(b)["shared_assets"] == []
    api.ok("library/share", id=rows["uplynk_library_shares"]["library_id"], owner=b.owner)
    assert len(_listed(b)["shared_assets"]) == 1


@pytest.mark.parametrize("table", UPLYNK.tables)
def test_every_statement_on_a_feeding_table_is_in_the_next_answer(client, api, monkeypatch, table: str) -> None:
    """An UPDATE, DELETE or INSERT straight into the database, as a worker or another process writes:
    the next list is read afresh (each kind is a trigger of its own)."""
    ctx = client.app.state.ctx
    b, rows = _seeded(client, api)
    t = Base.metadata.tables[table]
    key = rows[table]
    with ctx.engine.connect() as conn:
        row = dict(conn.execute(sa.select(t).where(_where(t, key))).mappings().one())
    reads = _reads(monkeypatch)
    params = {"query": "lighthouse"} if table == "uplynk_asset_terms" else {}
    for kind, statement in (("update", sa.update(t).where(_where(t, key)).values(**key)),
                            ("delete", sa.delete(t).where(_where(t, key))),
                            ("insert", sa.insert(t).values(row))):
        first = _listed(b, **params)
        kept = len(reads)
        assert _listed(b, **params) == first and len(reads) == kept, kind  # asked again: kept
        with ctx.engine.begin() as conn:
            conn.execute(statement)
        after = _listed(b, **params)
        assert len(reads) == kept + 1, kind
        if kind == "delete" and table in ("uplynk_assets", "uplynk_library_assets", "uplynk_library_shares"):
            assert first["shared_assets"] and after["shared_assets"] == []  # the shared asset went


def test_a_write_through_another_engine_is_in_the_next_list(client, api) -> None:
    """Another process's commit: a connection of another engine on the same database."""
    b, rows = _seeded(client, api)
    assert len(_listed(b)["shared_assets"]) == 1
    other = make_engine(client.app.state.ctx.settings.database_url)
    try:
        with other.begin() as conn:
            conn.execute(sa.text("UPDATE uplynk_assets SET \"desc\" = 'from outside'"))
    finally:
        other.dispose()
    assert _listed(b)["shared_assets"][0]["desc"] == "from outside"


@pytest.mark.skipif(BACKEND != "postgres", reason="TRUNCATE is PostgreSQL's (SQLite's DELETE fires row triggers)")
@pytest.mark.parametrize("table", UPLYNK.tables)
def test_a_truncate_is_in_the_next_answer(client, api, monkeypatch, table: str) -> None:
    """The next list is read afresh (a truncated media table takes the assets with it: CASCADE)."""
    ctx = client.app.state.ctx
    b, _ = _seeded(client, api)
    assert len(_listed(b)["shared_assets"]) == 1 == len(_listed(b)["shared_assets"])
    reads = _reads(monkeypatch)
    with ctx.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")
    expected = 1 if table in ("uplynk_asset_terms", "uplynk_test_players") else 0
    assert len(_listed(b)["shared_assets"]) == expected and len(reads) == 1


def _counter(client: Any) -> int:
    with client.app.state.ctx.engine.connect() as conn:
        return conn.execute(sa.text("SELECT version FROM control_state WHERE name = '_uplynk'")).scalar_one()


def test_reset_and_snapshot_restore_are_in_the_next_list(client, api) -> None:
    _seeded(client, api)
    assert len(_listed(api)["assets"]) == 1 == len(_listed(api)["assets"])
    snapshot = client.get("/_lynkflow/snapshot").content
    before = _counter(client)
    assert client.post("/_lynkflow/reset").status_code == 200
    # Never back to a value answers were kept under (another process may hold some).
    assert _counter(client) > before
    assert _listed(api)["assets"] == [] == _listed(api)["assets"]
    assert client.post("/_lynkflow/snapshot", content=snapshot).status_code == 200
    assert len(_listed(api)["assets"]) == 1 == len(_listed(api)["assets"])
    assert client.post("/_lynkflow/reset").status_code == 200
    assert _listed(api)["assets"] == []


def test_owners_and_base_urls_never_share_an_answer(client, api) -> None:
    ctx = client.app.state.ctx
    b = other_owner(client)
    make_asset(ctx, desc="a's")
    make_asset(ctx, owner=b.owner, desc="b's")
    for _ in range(2):
        assert [x["desc"] for x in _listed(api)["assets"]] == ["a's"]
        assert [x["desc"] for x in _listed(b)["assets"]] == ["b's"]
    elsewhere = UplynkCaller(_HostClient(client, "elsewhere.example:8443"), api.owner, api.api_key)
    elsewhere.sign = api.sign  # one Signer: two would sign the same msg within a second (a replay)
    for _ in range(2):
        assert _listed(api)["assets"][0]["test_player_url"].startswith("http://testserver/")
        assert _listed(elsewhere)["assets"][0]["test_player_url"].startswith("http://elsewhere.example:8443/")


class _HostClient:
    """The test client, every request sent with another Host header (so another public base URL)."""

    def __init__(self, client: Any, host: str) -> None:
        self._client, self._host = client, host
        self.app = client.app

    def post(self, path: str, **kw: Any) -> Any:
        return self._client.post(path, headers={"Host": self._host}, **kw)


def test_commits_to_other_tables_leave_the_kept_answer_standing(client, api, vis_headers, monkeypatch) -> None:
    """The journal's flush (every request here is journaled), api2's replay records (every signed call
    makes one) and VIS writes are commits that do not change an asset/list answer."""
    ctx = client.app.state.ctx
    _seeded(client, api)
    first = _listed(api)
    reads = _reads(monkeypatch)
    make_vuflow(ctx, vis_headers["API-KEY"])
    for n in range(3):
        with ctx.engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO control_replay (key, expires_ms) VALUES ('r{n}', 1)")
            conn.exec_driver_sql("UPDATE uplynk_owners SET name = name")
            conn.exec_driver_sql("UPDATE vis_vuflows SET name = name")
        time.sleep(0.05)  # the journal's flush of the requests so far lands meanwhile
        assert _listed(api) == first
    assert reads == []
