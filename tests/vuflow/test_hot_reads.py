"""The hot VIS reads (GET /asset/, /asset/{id}/, /event/, /event/{id}) keep their answers while they skip
FastAPI's dependency solving, remember encoded assets and render events from a template."""

from __future__ import annotations

import json

from lynkflow import ids
from lynkflow.db.models import VisAsset
from lynkflow.domain import vis_events
from tests.vuflow.helpers import assert_vis_error, make_vuflow


def _asset(ctx, key: str, event_id: str, name: str, modified: int = 5) -> str:
    with ctx.session() as db:
        content_id = vis_events.get_event(db, key, event_id).content_id
        asset = VisAsset(id=ids.guid(), event_id=event_id, api_key=key, name=name,
                         path=f"{content_id}/assets/{name}", extension="gif", state=1, type=3, job_id=None,
                         content_id=content_id, params={}, created=1_700_000_000_000, modified=modified)
        db.add(asset)
        return asset.id


def test_a_listed_asset_shows_what_changed_since_it_was_last_listed(client, vis_headers) -> None:
    """Encoded assets are remembered under everything they show: a rename, a new vuflow base and another
    public host each give a new answer, never the remembered one."""
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    flow = make_vuflow(ctx, key, "{lynkflow}/storage/vis")
    with ctx.session() as db:
        event_id = vis_events.create_event(db, ctx, key, title="t", vuflow_id=flow).id
    asset_id = _asset(ctx, key, event_id, "a b.gif")

    def listed(**headers: str) -> dict:
        page = client.get(f"/api/asset/?eventId={event_id}", headers={**vis_headers, **headers}).json()
        one = client.get(f"/api/asset/{asset_id}/", headers={**vis_headers, **headers}).json()
        assert page == [one]
        return one

    first = listed()
    assert first["name"] == "a b.gif" and first["url"].startswith("http://testserver/storage/vis/")
    assert first["url"].endswith("/assets/a%20b.gif")
    assert listed() == first  # the remembered text, same answer

    renamed = client.put(f"/api/asset/{asset_id}/?Name=renamed", headers=vis_headers)
    assert renamed.status_code == 200, renamed.text
    assert listed()["name"] == "renamed"

    patched = client.put(f"/api/vuflow/{flow}", headers=vis_headers,
                         json={"configurationJson": json.dumps({"storageUrlPublic": "http://cdn.test/x"})})
    assert patched.status_code == 200, patched.text
    assert listed()["url"].startswith("http://cdn.test/x/")

    client.put(f"/api/vuflow/{flow}", headers=vis_headers,
               json={"configurationJson": json.dumps({"storageUrlPublic": "{lynkflow}/s"})})
    assert listed(host="other.test:81")["url"].startswith("http://other.test:81/s/")
    assert listed()["url"].startswith("http://testserver/s/")


def test_asset_list_body_is_the_json_array_of_its_assets(client, vis_headers) -> None:
    """The list is joined from encoded assets: the bytes are those of encoding the whole list at once."""
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    with ctx.session() as db:
        event_id = vis_events.create_event(db, ctx, key, title="t").id
    for name in ("ü.gif", "b.gif", 'q"uote.gif'):
        _asset(ctx, key, event_id, name)
    resp = client.get("/api/asset/", headers=vis_headers)
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == json.dumps(resp.json(), ensure_ascii=False, separators=(",", ":")).encode()
    assert len(resp.json()) == 3
    assert client.get("/api/asset/?pageIndex=1", headers=vis_headers).content == b"[]"


def test_event_keys_and_extras_in_their_documented_order(client, vis_headers) -> None:
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    extra = {"tags": ["a"], "autoStart": None, "autoEnd": True, "channelId": "c", "lynkflowIngestError": "boom"}
    with ctx.session() as db:
        event_id = vis_events.create_event(db, ctx, key, title="t", extra=extra).id
    one = client.get(f"/api/event/{event_id}", headers=vis_headers).json()
    listed = client.get("/api/event/", headers=vis_headers).json()["results"]
    assert listed == [{**one, "video": None}]
    keys = list(one)
    assert keys[:3] == ["video", "id", "channelId"]
    assert keys[-4:] == ["dateCreated", "dateModified", "dateDeleted", "lynkflowIngestError"]
    assert keys.index("tags") < keys.index("channel") < keys.index("vuflowId") < keys.index("title")
    assert one["autoStart"] is False  # a flag stored as null shows false
    assert one["autoEnd"] is True and one["autoPublish"] is False  # absent flag: false
    assert one["drmJson"] is None and one["tags"] == ["a"] and one["channelId"] == "c"
    assert one["lynkflowIngestError"] == "boom"


def test_the_key_is_checked_before_the_query(client, vis_headers) -> None:
    for path in ("/api/asset/?pageIndex=x", "/api/event/?pageSize=0", "/api/asset/x/?noCache=maybe"):
        assert_vis_error(client.get(path), 401, "MissingApiKey")
        assert_vis_error(client.get(path, headers={"API-KEY": "nope"}), 401, "InvalidApiKey")
        assert_vis_error(client.get(path, headers=vis_headers), 400, "InvalidQuery")


def test_reads_give_their_route_permit_back(client, vis_headers) -> None:
    for path in ("/api/asset/", "/api/event/", f"/api/event/{ids.guid()}", "/api/asset/x/", "/api/vuflow/"):
        client.get(path, headers=vis_headers)
    permits = client.app.state.db_route_permits
    pool = client.app.state.ctx.engine.pool
    assert permits._value == max(1, (pool.size() + max(getattr(pool, "_max_overflow", 0), 0)) * 2 // 3)


def test_a_listed_event_shows_what_changed_since_it_was_last_listed(client, vis_headers) -> None:
    """Encoded events are remembered under everything they show: extras changed without a new
    dateModified, a renamed vuflow and the page's total each show."""
    from sqlalchemy import update

    from lynkflow.db.models import VisEvent

    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    flow = make_vuflow(ctx, key)
    with ctx.session() as db:
        event_id = vis_events.create_event(db, ctx, key, title="t", vuflow_id=flow, extra={"tags": ["a"]}).id

    def listed() -> dict:
        page = client.get("/api/event/", headers=vis_headers).json()
        assert [e["id"] for e in page["results"]][-1] == event_id
        return page

    first = listed()
    assert first["results"][0]["tags"] == ["a"] and first["results"][0]["vuflow"] == "Test Vuflow"
    assert listed() == first
    with ctx.session() as db:  # straight in the database: same columns but `extra`
        db.execute(update(VisEvent).where(VisEvent.id == event_id).values(extra={"tags": ["b"], "autoEnd": None}))
    changed = listed()["results"][0]
    assert changed["tags"] == ["b"] and changed["autoEnd"] is False
    assert {k: v for k, v in changed.items() if k != "tags"} == {k: v for k, v in first["results"][0].items()
                                                                  if k != "tags"}
    renamed = client.put(f"/api/vuflow/{flow}", headers=vis_headers, json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert listed()["results"][0]["vuflow"] == "Renamed"
    with ctx.session() as db:
        vis_events.create_event(db, ctx, key, title="second")
    resp = client.get("/api/event/?order=ASC", headers=vis_headers)
    page = resp.json()  # joined from encoded events: the bytes of encoding the page at once
    assert resp.content == json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()
    assert page["totalCount"] == 2 and page["pageSize"] == 25
    assert [e["title"] for e in page["results"]] == ["t", "second"]


def test_filtered_asset_pages_answer_each_request_from_its_own_values(client, vis_headers) -> None:
    """A filtered page statement is built once per combination of filters; each request binds its own."""
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    with ctx.session() as db:
        events = [vis_events.create_event(db, ctx, key, title=f"e{i}").id for i in range(2)]
    made = {(e, n): _asset(ctx, key, e, f"{n}.gif") for e in events for n in ("x", "y")}

    def ids_of(query: str) -> set[str]:
        resp = client.get(f"/api/asset/?{query}", headers=vis_headers)
        assert resp.status_code == 200, resp.text
        return {a["id"] for a in resp.json()}

    for e in events:
        assert ids_of(f"eventId={e}") == {made[e, "x"], made[e, "y"]}
        for n in ("x", "y"):
            assert ids_of(f"eventId={e}&name={n}.gif&states=COMPLETED&types=GIF,1") == {made[e, n]}
            assert ids_of(f"name={n}.gif&contentId={e}") == {made[e, n]}  # contentId is the event id here
    assert ids_of(f"eventId={events[0]}&states=FAILED,0") == set()
    assert ids_of("types=GIF") == set(made.values())
    assert ids_of("jobId=none") == set()
