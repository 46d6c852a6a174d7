"""asset/get, list, update, delete, changes through signed HTTP requests (no media needed)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from sqlalchemy import inspect

from tests.conftest import UplynkCaller, wait_for, wait_housekeeping
from tests.uplynk.conftest import make_asset, other_owner

DOC_FIELDS = {"orig_filename", "rays", "require_drm", "require_studio_drm", "slices", "autoexpire", "break_offsets",
              "created", "job_type", "libraries", "test_player_url", "test_players", "state", "duration",
              "embed_player_url", "external_id", "id", "thumb_url", "desc", "mp4_url", "ttml_url", "lastmod", "meta"}


def _png(size=(32, 24), color=(200, 10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


# --- get ------------------------------------------------------------------------------------------


def test_get_single_and_shape(api, asset_factory) -> None:
    aid = asset_factory(desc="foux du fu", external_id="id1234", meta={"k": "v"})
    for params in ({"id": aid}, {"external_id": "id1234"}):
        out = api.ok("asset/get", **params)
        a = out["asset"]
        assert set(a) >= DOC_FIELDS
        assert a["id"] == aid and a["desc"] == "foux du fu" and a["meta"] == {"k": "v"}
        assert a["test_player_url"].startswith("http://testserver/player5/") and a["test_player_url"].endswith(".html")
        assert a["test_players"][0]["url"] == a["test_player_url"]
        assert 22 <= len(a["test_players"][0]["id"]) <= 24
        assert a["embed_player_url"].startswith("http://testserver/player5/")
        assert isinstance(a["created"], int) and a["created"] > 1_600_000_000_000
        assert a["require_drm"] == 0 and a["job_type"] == "vod" and a["libraries"] == []


def test_get_many_duplicates_and_missing(api, asset_factory) -> None:
    a, b = asset_factory(desc="a", external_id="ea"), asset_factory(desc="b", external_id="eb")
    out = api.ok("asset/get", ids=[a, b, a, "0" * 32])
    assert [x["id"] for x in out["assets"]] == [a, b]
    out = api.ok("asset/get", external_ids=["eb", "ea", "eb"])
    assert [x["id"] for x in out["assets"]] == [b, a]
    assert "not found" in api.err("asset/get", ids=["0" * 32])
    assert "not found" in api.err("asset/get", id="f" * 32)
    assert "not found" in api.err("asset/get", external_id="nope")


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({}, "give one of id"), ({"id": "a", "external_id": "b"}, "only one of"),
     ({"ids": [f"{i:032x}" for i in range(1001)]}, "at most 1000"), ({"ids": [{"x": 1}]}, "list of strings")],
)
def test_get_refusals(api, params, fragment) -> None:
    assert fragment in api.err("asset/get", **params)


def test_get_other_owner_is_not_visible(api, client) -> None:
    other = other_owner(client).owner
    aid = make_asset(client.app.state.ctx, owner=other, desc="theirs")
    assert "not found" in api.err("asset/get", id=aid)



# --- list -----------------------------------------------------------------------------------------


def test_list_default_order_limit_and_paging(api, asset_factory) -> None:
    ids = [asset_factory(desc=f"clip {i}", created=1_000_000 + i, duration=float(i % 5)) for i in range(130)]
    page1 = api.ok("asset/list")["assets"]
    assert len(page1) == 100  # default limit
    assert [a["id"] for a in page1] == list(reversed(ids))[:100]  # default -created
    page2 = api.ok("asset/list", skip=100)["assets"]
    assert [a["id"] for a in page2] == list(reversed(ids))[100:]
    assert api.ok("asset/list", skip=1000)["assets"] == []
    assert len(api.ok("asset/list", limit=1)["assets"]) == 1
    # Paging by skip until a short page (a common client loop) sees every asset once.
    seen, skip = [], 0
    while True:
        chunk = api.ok("asset/list", order="-created", limit=40, skip=skip)["assets"]
        seen += [a["id"] for a in chunk]
        if len(chunk) < 40:
            break
        skip += 40
    assert sorted(seen) == sorted(ids)
    durations = [(a["duration"], a["desc"]) for a in api.ok("asset/list", order="-duration,desc", limit=100)["assets"]]
    assert durations == sorted(durations, key=lambda x: (-x[0], x[1]))
    asc = [a["duration"] for a in api.ok("asset/list", order="duration")["assets"]]
    assert asc == sorted(asc)


@pytest.mark.parametrize("limit", [0, 101, -1, "abc", 1.5, True])
def test_list_limit_bounds(api, limit) -> None:
    assert "limit" in api.err("asset/list", limit=limit)


@pytest.mark.parametrize("skip", [-1, "x"])
def test_list_skip_bounds(api, skip) -> None:
    assert "skip" in api.err("asset/list", skip=skip)


@pytest.mark.parametrize(
    "order",
    ["created; DROP TABLE uplynk_assets", "(SELECT 1)", "created desc", "lower(desc)", "owner_id", "meta",
     "-created,1", "created--", "desc,'", "id) UNION SELECT * FROM uplynk_api_keys --"],
)
def test_order_injection_is_refused(api, client, asset_factory, order) -> None:
    asset_factory(desc="survivor")
    msg = api.err("asset/list", order=order)
    assert "order: unknown attribute" in msg and "created, desc, duration" in msg
    assert inspect(client.app.state.ctx.engine).has_table("uplynk_assets")
    assert len(api.ok("asset/list")["assets"]) == 1


def test_search_substring_case_insensitive(api, asset_factory) -> None:
    a = asset_factory(desc="another ABCDEFG test", created=3)
    b = asset_factory(desc="abc 1234 test", created=2)
    c = asset_factory(desc="other", external_id="xxabcxx", created=1)
    asset_factory(desc="nothing here", created=0)
    out = api.ok("asset/list", search="abc", order="-created", limit=3)
    assert [x["id"] for x in out["assets"]] == [a, b, c]
    assert api.ok("asset/list", search="%")["assets"] == []  # LIKE wildcards are literal
    assert [x["id"] for x in api.ok("asset/list", search=a[3:12])["assets"]] == [a]


def test_shared_library_assets(api, client) -> None:
    from lynkflow.domain import uplynk_libraries as libraries

    ctx = client.app.state.ctx
    other = other_owner(client).owner
    mine = make_asset(ctx, desc="mine blue")
    theirs = make_asset(ctx, owner=other, desc="shared blue")
    hidden = make_asset(ctx, owner=other, desc="private blue")
    with ctx.session() as db:
        lib = libraries.create_library(db, ctx, other, "Shared stuff")
        libraries.add_to_library(db, ctx, lib.id, [theirs])
        libraries.share_library(db, lib.id, api.owner)
    out = api.ok("asset/list", query="blue")
    assert [a["id"] for a in out["assets"]] == [mine]
    assert [a["id"] for a in out["shared_assets"]] == [theirs]
    assert out["shared_assets"][0]["libraries"] == [lib.id]
    assert hidden not in str(out)
    assert "shared_assets" not in api.ok("asset/list", ignore_shared_libraries=True)
    assert api.ok("asset/get", id=theirs)["asset"]["id"] == theirs  # readable by ID through the share
    # The other owner sees it as their own asset.
    them = UplynkCaller(client, other, "other-key")
    assert {a["id"] for a in them.ok("asset/list")["assets"]} == {theirs, hidden}


# --- update ---------------------------------------------------------------------------------------


def test_update_fields_meta_and_players(api, asset_factory) -> None:
    aid = asset_factory(desc="old", meta={"a": "1"})
    before = api.ok("asset/get", id=aid)["asset"]
    out = api.ok("asset/update", id=aid, desc="New Desc", meta='{"key1":"value1", "key2":"value2"}',
                 test_player_url=1, require_drm=1, require_studio_drm="1")
    a = out["asset"]
    assert a["desc"] == "New Desc" and a["meta"] == {"a": "1", "key1": "value1", "key2": "value2"}
    assert len(a["test_players"]) == 2 and a["test_player_url"] == before["test_player_url"]
    assert a["require_drm"] == 1 and a["require_studio_drm"] == 1 and a["lastmod"] >= before["lastmod"]
    a = api.ok("asset/update", id=aid, meta={"key1": "changed"}, embed_player_url="yes")["asset"]
    assert a["meta"] == {"a": "1", "key1": "changed", "key2": "value2"}
    assert a["embed_player_url"] != before["embed_player_url"]
    assert api.ok("asset/update", id=aid, meta={})["asset"]["meta"] == {}
    # The search index follows the name.
    assert [x["id"] for x in api.ok("asset/list", query="new")["assets"]] == [aid]
    assert api.ok("asset/list", query="old")["assets"] == []


def test_update_external_id_assignment_and_lookup(api, asset_factory) -> None:
    aid = asset_factory(desc="x")
    assert api.ok("asset/update", id=aid, external_id="foux")["asset"]["external_id"] == "foux"
    assert api.ok("asset/update", external_id="foux", desc="by ext")["asset"]["id"] == aid
    assert api.ok("asset/get", external_id="foux")["asset"]["desc"] == "by ext"


def test_update_answers_what_get_then_shows(api, asset_factory) -> None:
    """asset/update renders the asset as written (a transient object beside a Core UPDATE of the
    changed columns): after each kind of change, asset/get of the stored row shows the same document."""
    aid = asset_factory(desc="first words", external_id="ext-1", meta={"a": "1"})
    png = base64.b64encode(_png()).decode()
    for params in ({"desc": "second words", "meta": {"b": "2"}}, {"require_drm": 1, "autoexpire": 99},
                   {"require_studio_drm": 0, "test_player_url": 1}, {"embed_player_url": 1},
                   {"external_id": " ext-2 "}, {"poster_img": png}, {"poster_img": ""}, {"meta": {}}, {}):
        answered = api.ok("asset/update", id=aid, **params)["asset"]
        assert answered == api.ok("asset/get", id=aid)["asset"], params
    assert answered["external_id"] == "ext-2" and answered["meta"] == {} and answered["autoexpire"] == 99


def test_update_by_external_id_takes_the_newest_of_duplicates(api, asset_factory) -> None:
    older = asset_factory(desc="older", external_id="dup", created=1_000)
    newer = asset_factory(desc="newer", external_id="dup", created=2_000)
    assert api.ok("asset/update", external_id="dup", desc="changed")["asset"]["id"] == newer
    assert api.ok("asset/get", id=older)["asset"]["desc"] == "older"


def test_update_writes_only_the_changed_columns(api, asset_factory, client) -> None:
    """An unchanged indexed column (external_id, autoexpire) is not rewritten, as the ORM's flush did not."""
    from sqlalchemy import event

    aid = asset_factory(desc="before", external_id="kept")
    engine = client.app.state.ctx.engine
    seen: list[str] = []

    def remember(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("UPDATE UPLYNK_ASSETS"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        api.ok("asset/update", id=aid, desc="after")
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert len(seen) == 1
    assert "desc" in seen[0] and "lastmod" in seen[0]
    assert "external_id" not in seen[0] and "autoexpire" not in seen[0] and "meta" not in seen[0]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({}, "give id"), ({"id": "0" * 32}, "not found"), ({"external_id": "nope"}, "not found"),
     ({"meta": "not json"}, "meta must be"), ({"meta": [1]}, "meta must be a dictionary"),
     ({"require_drm": "maybe"}, "require_drm"), ({"autoexpire": "soon"}, "autoexpire"),
     ({"poster_img": "!!!"}, "not valid base64"),
     ({"poster_img": base64.b64encode(b"hello, not an image").decode()}, "not an image"),
     ({"desc": "x" * 1001}, "at most 1000")],
)
def test_update_refusals_write_nothing(api, asset_factory, params, fragment) -> None:
    aid = asset_factory(desc="unchanged")
    if "id" not in params and "external_id" not in params and params:
        params = {"id": aid, **params}
    assert fragment in api.err("asset/update", **params)
    assert api.ok("asset/get", id=aid)["asset"]["desc"] == "unchanged"


def test_poster_upload_serve_and_reset(api, client, asset_factory) -> None:
    aid = asset_factory(desc="p")
    png = _png()
    a = api.ok("asset/update", id=aid, poster_img=base64.b64encode(png).decode())["asset"]
    url = a["poster_url"]
    assert url.startswith("http://testserver/storage/uplynk/") and url.endswith(".png")
    resp = client.get(url.replace("http://testserver", ""))
    assert resp.status_code == 200 and resp.content == png and resp.headers["content-type"] == "image/png"
    ctx = client.app.state.ctx
    stored = list((ctx.storage.root / "uplynk" / api.owner / aid).iterdir())
    assert len(stored) == 1
    a = api.ok("asset/update", id=aid, poster_img="")["asset"]
    assert "poster_url" not in a
    assert list((ctx.storage.root / "uplynk" / api.owner / aid).iterdir()) == []


def test_poster_too_big(api, asset_factory) -> None:
    aid = asset_factory(desc="p")
    big = base64.b64encode(b"\x89PNG" + b"\0" * (3 * 1024 * 1024)).decode()
    assert "smaller than 3 MB" in api.err("asset/update", id=aid, poster_img=big)


def test_autoexpire_deletes_when_the_clock_passes(make_client) -> None:
    client = make_client(inproc_workers=1, housekeeping_interval=0.02)
    s = client.app.state.ctx.settings
    api = UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)
    ctx = client.app.state.ctx
    ctx.clock.freeze()
    aid = make_asset(ctx, desc="ephemeral")
    keep = make_asset(ctx, desc="keeper")
    now = ctx.clock.now_ms()
    a = api.ok("asset/update", id=aid, autoexpire=str(now + 3_600_000))["asset"]
    assert a["autoexpire"] == now + 3_600_000
    api.ok("asset/update", id=keep, autoexpire=0)
    wait_housekeeping(ctx.workers)  # nothing due yet
    assert api.ok("asset/get", id=aid)["asset"]["id"] == aid
    ctx.clock.advance(3_600_001)
    wait_for(lambda: "not found" in api("asset/get", id=aid).get("msg", ""), timeout=10)
    assert api.ok("asset/get", id=keep)["asset"]["id"] == keep
    changes = api.ok("asset/changes", start=now)
    assert [c[1] for c in changes["changes"] if c[2] == aid][-1] == "delete"
    assert changes["assets"][aid]["deleted"] == now + 3_600_001


# --- delete and changes ---------------------------------------------------------------------------


def test_delete_and_changes(api, client, asset_factory) -> None:
    ctx = client.app.state.ctx
    ctx.clock.freeze()
    start = ctx.clock.now_ms()
    a = asset_factory(desc="a", external_id="ad10115")
    b = asset_factory(desc="b", external_id="challenge_s01e03")
    c = asset_factory(desc="c")
    ctx.clock.advance(10)
    out = api.ok("asset/delete", ids=a)  # a plain string, as some clients send
    assert out["deleted"] == [{"external_id": "ad10115", "id": a}]
    ctx.clock.advance(10)
    out = api.ok("asset/delete", ids=[c], external_ids=["challenge_s01e03"])
    assert sorted(out["deleted"], key=lambda d: d["id"]) == sorted(
        [{"external_id": "challenge_s01e03", "id": b}, {"external_id": "", "id": c}], key=lambda d: d["id"])
    assert "not found" in api.err("asset/delete", ids=[a])  # already deleted
    assert "give ids" in api.err("asset/delete")
    assert "not found" in api.err("asset/get", id=a)
    assert api.ok("asset/list")["assets"] == []

    ch = api.ok("asset/changes", start=start)
    assert ch["start"] == start and ch["end"] == ctx.clock.now_ms()
    pairs = [(x[1], x[2]) for x in ch["changes"]]
    assert pairs[:4] == [("update", a), ("update", b), ("update", c), ("delete", a)]
    assert sorted(pairs[4:]) == sorted([("delete", b), ("delete", c)])
    assert ch["changes"][3][0] == start + 10
    assert ch["assets"][a]["deleted"] == start + 10 and ch["assets"][a]["desc"] == "a"
    # Inclusive bounds: restarting at a change's time includes it again.
    again = api.ok("asset/changes", start=start + 10)
    assert [x[2] for x in again["changes"]][0] == a and sorted(x[2] for x in again["changes"]) == sorted([a, b, c])
    assert api.ok("asset/changes", start=start + 21)["changes"] == []
    assert "start" in api.err("asset/changes")
    assert "start" in api.err("asset/changes", start="yesterday")


def test_changes_batch_cap_never_splits_a_millisecond(api, client, monkeypatch) -> None:
    from lynkflow.uplynk import assets as face

    monkeypatch.setattr(face, "CHANGES_CAP", 5)
    ctx = client.app.state.ctx
    ctx.clock.freeze()
    start = ctx.clock.now_ms()
    first = [make_asset(ctx, desc=f"a{i}") for i in range(3)]
    ctx.clock.advance(5)
    same_ms = [make_asset(ctx, desc=f"b{i}") for i in range(4)]
    ctx.clock.advance(5)
    make_asset(ctx, desc="later")
    batch = api.ok("asset/changes", start=start)
    assert batch["end"] == start + 5
    assert [c[2] for c in batch["changes"]] == first + same_ms  # 7 > cap: the whole millisecond comes along
    nxt = api.ok("asset/changes", start=batch["end"])
    assert [c[2] for c in nxt["changes"]][:4] == same_ms and len(nxt["changes"]) == 5


def test_update_rewrites_only_the_index_rows_that_change(api, asset_factory, client) -> None:
    """The term index ends up exactly `term_rows` of the new values (a row an older indexing left
    behind goes too); the rows that stay are not written (their physical row is the same: SQLite's
    rowid, PostgreSQL's ctid, which any rewrite moves), and the writes take a fixed number of
    statements, whatever the number of rows (PostgreSQL 1, SQLite 2), none of them an executemany."""
    from sqlalchemy import event, insert, text

    from lynkflow.db.models import UplynkAssetTerm
    from lynkflow.domain.uplynk_assets import term_rows

    ctx = client.app.state.ctx
    postgres = ctx.engine.dialect.name == "postgresql"
    aid = asset_factory(desc="red green blue", external_id="x-1", meta={"genre": "news"})
    with ctx.session() as db:  # a row no indexing of these values makes
        db.execute(insert(UplynkAssetTerm), {"asset_id": aid, "field": "name", "term": "stale"})
    where = text(f"SELECT field, term, {'ctid::text' if postgres else 'rowid'} FROM uplynk_asset_terms "
                 "WHERE asset_id = :a")

    def physical() -> dict[tuple[str, str], object]:
        with ctx.read_session() as db:
            return {(f, t): place for f, t, place in db.execute(where, {"a": aid})}

    before = physical()
    writes: list[tuple[str, bool]] = []

    def remember(_conn, _cursor, statement, _parameters, _context, executemany) -> None:  # noqa: ANN001
        if "uplynk_asset_terms" in statement:
            writes.append((statement, executemany))

    event.listen(ctx.engine, "before_cursor_execute", remember)
    try:
        a = api.ok("asset/update", id=aid, desc="red green yellow")["asset"]
    finally:
        event.remove(ctx.engine, "before_cursor_execute", remember)
    assert len(writes) == (1 if postgres else 2) and not any(many for _, many in writes)
    after = physical()
    assert set(after) == {(r["field"], r["term"]) for r in term_rows(aid, a["desc"], a["external_id"], a["meta"])}
    # Gone: "stale", "blue", the pair "green blue"; new: "yellow", the pair "green yellow".
    assert set(before) - set(after) == {("name", "stale"), ("name", "blue"), ("~name", "green blue")}
    assert set(after) - set(before) == {("name", "yellow"), ("~name", "green yellow")}
    kept = set(before) & set(after)
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert [x["id"] for x in api.ok("asset/list", query="yellow")["assets"]] == [aid]
    assert api.ok("asset/list", query="blue")["assets"] == [] and api.ok("asset/list", query="stale")["assets"] == []
