"""Reset (everything / one Uplynk owner / one VIS key) and seed / reseed, through HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from lynkflow import ids as lynkflow_ids
from lynkflow.db.models import (
    Media,
    UplynkApiKey,
    UplynkAsset,
    UplynkChange,
    UplynkLibrary,
    UplynkLibraryAsset,
    UplynkOwner,
    UplynkTestPlayer,
    VisApiKey,
    VisEvent,
    VisVuflow,
)
from lynkflow.domain.uplynk_assets import create_asset
from lynkflow.domain.vis_vuflows import default_vuflow_id
from lynkflow.testing.signing import Signer

OTHER_OWNER = "0123456789abcdef0123456789abcdef"
OTHER_SECRET = "other-owner-secret"
OTHER_VIS_KEY = "99999999-8888-4777-8666-555555555555"

SEED = {
    "format": 1,
    "uplynk": {"owners": [{"id": OTHER_OWNER, "name": "Other", "api_keys": [OTHER_SECRET],
                           "libraries": [{"id": "b" * 32, "desc": "Other's library", "shared_with": ["default"]}]}]},
    "vis": {"api_keys": [{"key": OTHER_VIS_KEY, "name": "Other key"}],
            "vuflows": [{"id": "5eed0000-0000-4000-8000-0000000000b2", "name": "Other flow", "apiKey": OTHER_VIS_KEY}]},
}


def _media(ctx, db, name: str) -> Media:
    now = ctx.clock.now_ms()
    folder = ctx.storage.media_dir(name)
    (folder / "out").mkdir(parents=True)
    (folder / "source.mp4").write_bytes(b"source of " + name.encode())
    (folder / "out" / "thumb.jpg").write_bytes(b"thumb of " + name.encode())
    media = Media(id=name, original_filename=f"{name}.mp4", source_path=f"media/{name}/source.mp4",
                  size_bytes=10, state="ready", created=now, updated=now)
    db.add(media)
    db.flush()
    return media


def _event(db, api_key: str, title: str, vuflow_id: str | None, media_id: str) -> VisEvent:
    event_id = lynkflow_ids.guid()
    event = VisEvent(id=event_id, api_key=api_key, vuflow_id=vuflow_id, media_id=media_id, title=title,
                     content_id=event_id, created=1, modified=1)
    db.add(event)
    db.flush()
    return event


def populate(client) -> dict[str, str]:
    """Two owners sharing one media item, and two VIS keys with an event each, with files."""
    ctx = client.app.state.ctx
    me = ctx.settings.uplynk_owner
    assert client.post("/_lynkflow/seed", json=SEED).status_code == 200
    with ctx.session() as db:
        m_mine, m_shared, m_vis, m_vis2 = (_media(ctx, db, n) for n in ("a" * 32, "c" * 32, "d" * 32, "e" * 32))
        mine = create_asset(db, ctx, owner_id=me, media_id=m_mine.id, external_id="mine")
        shared_mine = create_asset(db, ctx, owner_id=me, media_id=m_shared.id, external_id="shared")
        theirs = create_asset(db, ctx, owner_id=OTHER_OWNER, media_id=m_shared.id, external_id="theirs")
        lib = UplynkLibrary(id="f" * 32, owner_id=me, desc="mine", created=1, lastmod=1)
        db.add(lib)
        db.flush()
        db.add(UplynkLibraryAsset(library_id=lib.id, asset_id=mine.id))
        flow = VisVuflow(id=lynkflow_ids.guid(), api_key=ctx.settings.vuflow_api_key, name="my flow",
                         configuration_json="{}", created=1, modified=1)
        db.add(flow)
        db.flush()
        event = _event(db, ctx.settings.vuflow_api_key, "mine", flow.id, m_vis.id)
        other_event = _event(db, OTHER_VIS_KEY, "theirs", None, m_vis2.id)
        ids = {"mine": mine.id, "shared_mine": shared_mine.id, "theirs": theirs.id, "event": event.id,
               "content": event.content_id, "other_event": other_event.id, "other_content": other_event.content_id}
    for owner in (me, OTHER_OWNER):
        (ctx.storage.root / "uplynk" / owner).mkdir(parents=True, exist_ok=True)
        (ctx.storage.root / "uplynk" / owner / "poster.png").write_bytes(b"png")
    for content in (ids["content"], ids["other_content"]):
        (ctx.storage.vis_root / content / "vod").mkdir(parents=True)
        (ctx.storage.vis_root / content / "vod" / "x.mp4").write_bytes(b"mp4")
    return ids


def _count(ctx, model, *where) -> int:
    with ctx.session() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_reset_one_owner_keeps_everyone_else(client):
    ctx = client.app.state.ctx
    me = ctx.settings.uplynk_owner
    ids = populate(client)
    resp = client.post("/_lynkflow/reset", json={"owner": me.upper()})
    assert resp.status_code == 200, resp.text
    assert resp.json()["removed"] == {"assets": 2, "libraries": 1, "slicerJobs": 0, "media": 1}
    assert _count(ctx, UplynkAsset, UplynkAsset.owner_id == me) == 0
    assert _count(ctx, UplynkChange, UplynkChange.owner_id == me) == 0
    assert _count(ctx, UplynkLibrary, UplynkLibrary.owner_id == me) == 0
    assert _count(ctx, UplynkTestPlayer, UplynkTestPlayer.asset_id == ids["mine"]) == 0
    assert _count(ctx, UplynkAsset, UplynkAsset.id == ids["theirs"]) == 1
    # The owner and its key stay, so its credentials keep working.
    assert _count(ctx, UplynkOwner, UplynkOwner.id == me) == 1
    assert _count(ctx, UplynkApiKey, UplynkApiKey.owner_id == me) == 1
    root = ctx.storage.root
    assert not (root / "media" / ("a" * 32)).exists()  # only my asset used it
    assert (root / "media" / ("c" * 32) / "source.mp4").read_bytes() == b"source of " + b"c" * 32  # shared
    assert not (root / "uplynk" / me).exists() and (root / "uplynk" / OTHER_OWNER / "poster.png").exists()
    assert (ctx.storage.vis_root / ids["content"] / "vod" / "x.mp4").exists()
    signer = Signer(me, ctx.settings.uplynk_api_key)
    listed = client.post("/api2/asset/list", data=signer({})).json()
    assert listed["error"] == 0 and listed["assets"] == []
    other = Signer(OTHER_OWNER, OTHER_SECRET)
    assert [a["id"] for a in client.post("/api2/asset/list", data=other({})).json()["assets"]] == [ids["theirs"]]


def test_reset_one_vis_key_keeps_other_keys(client, vis_headers):
    ctx = client.app.state.ctx
    ids = populate(client)
    resp = client.post("/_lynkflow/reset", json={"visKey": ctx.settings.vuflow_api_key})
    assert resp.status_code == 200, resp.text
    # Its own vuflow and its default one go; the default comes back as it is for a new key.
    assert resp.json()["removed"] == {"events": 1, "assets": 0, "vuflows": 2, "media": 1}
    assert _count(ctx, VisEvent, VisEvent.api_key == ctx.settings.vuflow_api_key) == 0
    assert _count(ctx, VisVuflow, VisVuflow.api_key == ctx.settings.vuflow_api_key,
                  VisVuflow.id != default_vuflow_id(ctx.settings.vuflow_api_key)) == 0
    assert _count(ctx, VisApiKey, VisApiKey.key == ctx.settings.vuflow_api_key) == 1
    assert _count(ctx, VisEvent, VisEvent.id == ids["other_event"]) == 1
    assert not (ctx.storage.vis_root / ids["content"]).exists()
    assert (ctx.storage.vis_root / ids["other_content"] / "vod" / "x.mp4").exists()
    assert not (ctx.storage.root / "media" / ("d" * 32)).exists()
    assert (ctx.storage.root / "media" / ("e" * 32)).exists()
    assert _count(ctx, UplynkAsset) == 3  # Uplynk untouched
    listed = client.get("/api/event/", headers=vis_headers)
    assert listed.status_code == 200 and ids["event"] not in listed.text


def test_reset_everything_removes_data_files_and_control_state(client):
    ctx = client.app.state.ctx
    populate(client)
    client.post("/_lynkflow/faults", json={"action": "error"})
    client.post("/_lynkflow/clock/freeze", json={"at": 5})
    client.put("/_lynkflow/lifecycles/gif", json={"mode": "manual"})
    assert client.post("/_lynkflow/reset").json() == {"reset": "everything"}
    assert _count(ctx, UplynkAsset) == _count(ctx, VisEvent) == _count(ctx, Media) == 0
    assert _count(ctx, UplynkOwner) == 1 and _count(ctx, VisApiKey) == 1  # the default accounts
    assert [list((ctx.storage.root / d).iterdir()) for d in ("media", "uplynk", "vis")] == [[], [], []]
    assert client.get("/_lynkflow/faults").json()["faults"] == []
    assert client.get("/_lynkflow/clock").json()["frozen"] is False
    assert client.get("/_lynkflow/lifecycles").json()["lifecycles"]["gif"]["mode"] == "real"
    assert client.get("/_lynkflow/journal/count").json()["count"] == 0


def test_reset_refuses_unknown_targets_and_fields(client):
    assert client.post("/_lynkflow/reset", json={"owner": "f" * 32}).status_code == 404
    assert "no VIS API key" in client.post("/_lynkflow/reset", json={"visKey": "nope"}).json()["error"]
    assert client.post("/_lynkflow/reset", json={"owner": "x", "visKey": "y"}).status_code == 400
    assert "unknown reset field" in client.post("/_lynkflow/reset", json={"everything": True}).json()["error"]
    assert client.post("/_lynkflow/reset", content=b"{nope").status_code == 400


def test_seed_from_a_document_and_from_a_file_then_reseed(client):
    ctx = client.app.state.ctx
    resp = client.post("/_lynkflow/seed", json=SEED)
    assert resp.status_code == 200, resp.text
    assert resp.json()["seeded"] == {"owners": 1, "api_keys": 1, "libraries": 1, "vis_api_keys": 1, "vuflows": 1,
                                     "media": 0}
    assert client.post("/_lynkflow/seed", json=SEED).json()["seeded"]["owners"] == 0  # idempotent
    (ctx.storage.root / "seeds").mkdir()
    doc = {"format": 1, "vis": {"vuflows": [{"id": "5eed0000-0000-4000-8000-0000000000c3", "name": "from file"}]}}
    (ctx.storage.root / "seeds" / "small.json").write_text(json.dumps(doc))
    assert client.post("/_lynkflow/seed", json={"path": "seeds/small.json"}).json()["seeded"]["vuflows"] == 1
    # Each key's default (the configured key's and the seeded key's) and the two seeded ones.
    assert _count(ctx, VisVuflow) == 4
    resp = client.post("/_lynkflow/reseed", json={"path": "seeds/small.json"})
    assert resp.status_code == 200
    assert _count(ctx, VisVuflow) == 2 and _count(ctx, UplynkOwner, UplynkOwner.id == OTHER_OWNER) == 0


def test_seed_refuses_bad_documents_without_writing(client, tmp_path: Path):
    ctx = client.app.state.ctx
    cases = [
        ({"path": "../../etc/passwd"}, 400, "not allowed"),
        ({"path": "missing.json"}, 404, "not found"),
        ({"format": 2}, 400, "\"format\": 1"),
        ({"format": 1, "media": [{"path": "/etc/hostname"}]}, 400, "not allowed"),
        ({"format": 1, "media": [{"synthetic": "nope.mp4"}]}, 400, "unknown synthetic clip"),
        ({"format": 1, "media": [{"path": "absent.mp4"}]}, 400, "not found"),
        ({"format": 1, "uplynk": {"owners": [{"id": OTHER_OWNER, "libraries": [{"desc": "no id"}]}]}}, 400,
         "missing field"),
    ]
    for body, status, words in cases:
        resp = client.post("/_lynkflow/seed", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert words in resp.json()["error"], (body, resp.text)
    assert _count(ctx, UplynkOwner, UplynkOwner.id == OTHER_OWNER) == 0  # the failed seed rolled back
    assert client.post("/_lynkflow/seed").status_code == 400


def test_after_a_reset_a_removed_owners_key_is_refused_at_once(client):
    # The key check caches keys for a second; a reset must drop that cache, or the removed owner's
    # key keeps signing requests until the cache runs out.
    assert client.post("/_lynkflow/seed", json=SEED).status_code == 200
    sign = Signer(OTHER_OWNER, OTHER_SECRET)

    def call() -> dict:
        data = sign({}, timestamp=int(client.app.state.ctx.clock.now()))
        return client.post("/api2/asset/list", data=data).json()

    assert call()["error"] == 0
    assert client.post("/_lynkflow/reset", json={}).status_code == 200
    refused = call()
    assert refused["error"] == 1, refused
