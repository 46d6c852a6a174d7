"""asset/list answers joined from each asset's cached JSON text (app/uplynk/encoded.py, render.py):
the bytes must be what encoding the whole answer at once gives (`jsondoc.encode`, JSONResponse's
encoding), for cached and fresh texts alike, and a text must never outlive the row it shows."""

from __future__ import annotations

import json

from sqlalchemy import text

from lynkflow import jsondoc
from lynkflow.uplynk.encoded import EncodedAnswer
from lynkflow.uplynk.render import render_asset_texts, render_assets
from tests.conftest import UplynkCaller
from tests.uplynk.conftest import make_asset, other_owner


def _body(caller: UplynkCaller, op: str, **params) -> bytes:
    resp = caller.http.post(f"/api2/{op}", data=caller.pair(params))
    assert resp.status_code == 200 and resp.json()["error"] == 0, resp.text
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["content-length"] == str(len(resp.content))
    return resp.content


def _as_one_encoding(body: bytes) -> bytes:
    """The bytes of encoding the parsed answer at once (JSON keeps key order, text and float values exactly)."""
    return jsondoc.encode(json.loads(body)).encode("utf-8")


def test_a_joined_list_is_the_bytes_of_the_whole_answer_encoded_at_once(client, api) -> None:
    ctx = client.app.state.ctx
    other = other_owner(client)
    make_asset(ctx, desc="Größe ☃ 東京 \u2028 \"quoted\"", meta={"ключ": "значение", "n": "x\ty"}, duration=1e16)
    small = make_asset(ctx, desc="tiny", duration=1e-07, external_id="ext-é")
    gone = make_asset(ctx, desc="deleted one")
    api.ok("asset/delete", ids=[gone])
    theirs = make_asset(ctx, owner=other.owner, desc="shared ünïcode", duration=2.5)
    lib = other.ok("library/create", desc="partners")["library"]["id"]
    other.ok("library/add", id=lib, asset_id=theirs)
    other.ok("library/share", id=lib, owner=api.owner)
    api.ok("asset/changes", start=0)  # renderings with `deleted` cached too: they must not leak into the list

    ctx.caches.reset()
    fresh = _body(api, "asset/list")
    cached = _body(api, "asset/list")
    assert fresh == cached == _as_one_encoding(fresh)
    doc = json.loads(fresh)
    assert list(doc) == ["assets", "shared_assets", "error"]
    assert [a["id"] for a in doc["shared_assets"]] == [theirs]
    assert gone not in fresh.decode() and "deleted" not in doc["assets"][0]
    assert b'"duration":1e+16' in fresh and b'"duration":1e-07' in fresh  # float reprs, as encode writes them
    assert "Größe ☃ 東京".encode() in fresh  # not \u-escaped (ensure_ascii off)
    own_only = jsondoc.encode({"assets": doc["assets"], "error": 0}).encode()
    assert _body(api, "asset/list", ignore_shared_libraries=True) == own_only
    empty = _body(api, "asset/list", query="nothing-matches-this")
    assert empty == b'{"assets":[],"shared_assets":[],"error":0}'

    # A row changed behind the cache (same lastmod): the list shows the row now held, not the old text.
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE uplynk_assets SET \"desc\" = 'changed' WHERE id = :id"), {"id": small})
    after = _body(api, "asset/list")
    assert after == _as_one_encoding(after)
    assert {a["id"]: a["desc"] for a in json.loads(after)["assets"]}[small] == "changed"


def test_asset_get_by_id_is_the_bytes_of_the_whole_answer_encoded_at_once(client, api) -> None:
    """asset/get by ID answers with the rendering's cached text (render.py `render_one_text_by_id`)."""
    ctx = client.app.state.ctx
    asset_id = make_asset(ctx, desc="Größe ☃ 東京 \u2028 \"quoted\"", meta={"ключ": "x\ty"}, duration=1e16)
    ctx.caches.reset()
    fresh = _body(api, "asset/get", id=asset_id)
    cached = _body(api, "asset/get", id=asset_id)
    assert fresh == cached == _as_one_encoding(fresh)
    doc = json.loads(fresh)
    assert list(doc) == ["asset", "error"] and doc["asset"]["id"] == asset_id
    assert "Größe ☃ 東京".encode() in fresh and b'"duration":1e+16' in fresh
    # The same rendering as through a list of IDs, whose answer is encoded as a whole.
    assert doc["asset"] == json.loads(_body(api, "asset/get", ids=[asset_id]))["assets"][0]
    # A row changed behind the cache (same lastmod): the answer shows the row now held.
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE uplynk_assets SET \"desc\" = 'changed' WHERE id = :id"), {"id": asset_id})
    after = _body(api, "asset/get", id=asset_id)
    assert after == _as_one_encoding(after) and json.loads(after)["asset"]["desc"] == "changed"


def test_a_field_added_to_a_rendering_stays_out_of_the_cached_text(client) -> None:
    """Callers add per-call fields to their copy of a rendering; the cached text is of the rendering alone."""
    ctx = client.app.state.ctx
    asset_id = make_asset(ctx, desc="plain")
    from lynkflow.domain import uplynk_asset_reads as reads

    with ctx.session() as db:
        rows = list(reads.rows_by_ids(db, ctx.settings.uplynk_owner, [asset_id]).values())
        docs = render_assets(ctx, db, "http://h", rows)
        docs[0]["per_call"] = 1
        texts = render_asset_texts(ctx, db, "http://h", rows)
        assert [json.loads(t) for t in texts] == [render_assets(ctx, db, "http://h", rows)[0]]
        assert "per_call" not in texts[0]


def test_an_encoded_answer_adds_fields_as_a_dict_would() -> None:
    items = [{"a": 1.5e16, "b": "ü"}, {"a": 1e-07, "b": None}]
    answer = EncodedAnswer({"assets": jsondoc.join_array([jsondoc.encode(i) for i in items]),
                            "empty": jsondoc.join_array([])})
    answer["error"] = 0
    answer["msg"] = "ö \"x\""
    answer["off"] = False  # equal to 0, but not the integer 0
    answer["zero"] = 0.0
    assert answer.text() == jsondoc.encode({"assets": items, "empty": [], "error": 0, "msg": "ö \"x\"", "off": False,
                                            "zero": 0.0})
