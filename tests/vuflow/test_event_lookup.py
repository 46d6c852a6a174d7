"""Events: GET /event/ filters, refId/externalId lookups, PATCH by reference, clone and force stop."""

from __future__ import annotations

import pytest

from tests.vuflow.helpers import assert_vis_error, event_with_recording

CH_A = "3f2504e0-4f89-41d3-9a0c-0305e82c0001"
CH_B = "3f2504e0-4f89-41d3-9a0c-0305e82c0002"
TYPE_A = "7a1b2c3d-0000-4000-8000-00000000000a"
CAT_A = "9c8b7a6d-0000-4000-8000-0000000000ca"


def _make(client, headers, **body) -> str:
    made = client.post("/api/event/", json=body, headers=headers)
    assert made.status_code == 200, made.text
    return made.json()["id"]


def _ids(client, headers, query: str, prefix: str = "/api") -> tuple[list[str], int]:
    resp = client.get(f"{prefix}/event/?order=ASC&{query}", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return [e["id"] for e in body["results"]], body["totalCount"]


def test_list_filters(client, vis_headers) -> None:
    a = _make(client, vis_headers, title="a", channelId=CH_A, eventTypeId=TYPE_A, categoryId=CAT_A,
              tags=["Football", "final"], scheduledStart="2024-05-01T12:00:00Z")
    b = _make(client, vis_headers, title="b", channelId=CH_B, tags="tennis, final",
              scheduledStart="2024-06-01T12:00:00+02:00")
    c = _make(client, vis_headers, title="c", ChannelId=CH_A.upper(), categoryId=CAT_A)  # no schedule
    h = vis_headers
    assert _ids(client, h, f"channel={CH_A}") == ([a, c], 2)
    assert _ids(client, h, f"Channel={CH_B.upper()}") == ([b], 1)  # names and GUIDs ignore case
    assert _ids(client, h, f"eventType={TYPE_A}") == ([a], 1)
    assert _ids(client, h, f"category={CAT_A}&channel={CH_A}") == ([a, c], 2)
    assert _ids(client, h, "channel=3f2504e0-4f89-41d3-9a0c-0305e82c0099") == ([], 0)
    # Tags: an event matches if it has any of the tags asked for (list or comma-separated, any case).
    assert _ids(client, h, "tags=final") == ([a, b], 2)
    assert _ids(client, h, "tags=football,TENNIS") == ([a, b], 2)
    assert _ids(client, h, "Tags=golf, tennis") == ([b], 1)
    assert _ids(client, h, "tags=golf") == ([], 0)
    # From/To compare scheduledStart when it is set, otherwise dateCreated; both ends are inclusive.
    assert _ids(client, h, "from=2024-05-01T12:00:00Z&to=2024-05-31") == ([a], 1)
    assert _ids(client, h, "to=2024-06-01T10:00:00Z") == ([a, b], 2)  # b is 12:00+02:00 = 10:00Z
    assert _ids(client, h, "from=2024-06-01T10:00:01Z") == ([c], 1)  # c was created "now"
    assert _ids(client, h, "from=2024-01-01&tags=final&channel=" + CH_B) == ([b], 1)
    # totalCount counts every match while pages are cut from them.
    page = client.get("/api/event/?tags=final&pageSize=1&pageNumber=2&order=DESC", headers=h).json()
    assert ([e["id"] for e in page["results"]], page["totalCount"], page["pageSize"]) == ([a], 2, 1)
    # The root mount has the same filters.
    assert _ids(client, h, f"channel={CH_A}&tags=football", prefix="") == ([a], 1)


def test_filters_on_deleted_and_refusals(client, vis_headers) -> None:
    a = _make(client, vis_headers, channelId=CH_A)
    _make(client, vis_headers, channelId=CH_A)
    assert client.delete(f"/api/event/{a}", headers=vis_headers).status_code == 200
    assert _ids(client, vis_headers, f"channel={CH_A}")[1] == 1
    deleted = client.get(f"/api/event/deleted/?channel={CH_A}", headers=vis_headers).json()
    assert [e["id"] for e in deleted["results"]] == [a]
    for query, name in [("from=yesterday", "from"), ("to=2024-13-01T00:00:00Z", "to"),
                        ("From=2024-05-01T12:00", "From"), ("channel=ch-1", "channel"), ("eventType=42", "eventType"),
                        ("Category=x", "Category"),
                        ("tags=,,", "tags"), ("from=2024-06-01&to=2024-05-01", "from")]:
        body = assert_vis_error(client.get(f"/api/event/?{query}", headers=vis_headers), 400, "InvalidQuery")
        assert body["data"]["field"].lower() == name.lower(), body
        assert name.lower() in body["exceptionMessage"].lower()


def test_lookup_by_reference_and_external_id(client, vis_headers) -> None:
    h = vis_headers
    one = _make(client, h, refId="REF-1", externalId="ext/1")
    two = _make(client, h, refId="REF-2", externalId="ext/1")
    for prefix in ("/api", ""):
        found = client.get(f"{prefix}/event/reference?refId=REF-1", headers=h).json()
        assert set(found) == {"results", "totalCount", "pageSize"}
        assert ([e["id"] for e in found["results"]], found["totalCount"]) == ([one], 1)
        ext = client.get(f"{prefix}/event/external/?ExternalId=ext%2F1&order=ASC", headers=h).json()
        assert [e["id"] for e in ext["results"]] == [one, two]
    assert client.get("/api/event/reference?refId=ref-1", headers=h).json()["totalCount"] == 0  # exact match
    assert_vis_error(client.get("/api/event/reference", headers=h), 400, "MissingField")
    assert_vis_error(client.get("/api/event/external/?externalId=", headers=h), 400, "MissingField")

    # The unique checks answer a bare JSON boolean: true when no live event of the key uses the value.
    for prefix in ("/api", ""):
        assert client.get(f"{prefix}/event/reference/unique?refId=REF-1", headers=h).json() is False
        assert client.get(f"{prefix}/event/reference/unique/?refId=REF-9", headers=h).json() is True
        assert client.get(f"{prefix}/event/external/unique?externalId=ext/1", headers=h).json() is False
        assert client.get(f"{prefix}/event/external/unique?externalId=ext/2", headers=h).json() is True
    assert client.delete(f"/api/event/{two}", headers=h).status_code == 200
    assert client.get("/api/event/reference/unique?refId=REF-2", headers=h).text == "true"
    assert_vis_error(client.get("/api/event/reference/unique", headers=h), 400, "MissingField")
    # Another key sees none of them.
    other = {"API-KEY": "00000000-0000-4000-8000-000000000abc"}
    with client.app.state.ctx.session() as db:
        from lynkflow.db.models import VisApiKey

        db.add(VisApiKey(key=other["API-KEY"], name="other", created=0))
    assert client.get("/api/event/reference/unique?refId=REF-1", headers=other).json() is True
    assert client.get("/api/event/reference?refId=REF-1", headers=other).json()["totalCount"] == 0


def test_patch_by_reference(client, vis_headers) -> None:
    h = vis_headers
    eid = _make(client, h, title="old", refId="match-7")
    for prefix in ("/api", ""):
        patched = client.patch(f"{prefix}/event/reference/match-7", json={"title": f"new{prefix}", "autoEnd": True},
                               headers=h)
        assert patched.status_code == 200, patched.text
        assert (patched.json()["id"], patched.json()["title"], patched.json()["autoEnd"]) == (eid, f"new{prefix}", True)
    assert client.get(f"/api/event/{eid}", headers=h).json()["title"] == "new"
    assert_vis_error(client.patch("/api/event/reference/nope", json={"title": "x"}, headers=h), 404, "EventNotFound")
    assert_vis_error(client.patch("/api/event/reference/match-7", json={"contentId": "other"}, headers=h), 409,
                     "ContentIdImmutable")
    assert_vis_error(client.patch("/api/event/reference/match-7", json={"title": 5}, headers=h), 400,
                     "InvalidField")
    dup = _make(client, h, refId="match-7")
    body = assert_vis_error(client.patch("/api/event/reference/match-7", json={"title": "x"}, headers=h), 409,
                            "AmbiguousReference")
    assert sorted(body["data"]["eventIds"]) == sorted([eid, dup])
    assert client.get(f"/api/event/{eid}", headers=h).json()["title"] == "new"  # nothing was written


def test_clone(client, vis_headers, short_clip) -> None:
    h = vis_headers
    ctx = client.app.state.ctx
    flow = client.post("/api/vuflow/", json={"name": "Flow"}, headers=h).json()["id"]
    source_id = event_with_recording(ctx, h["API-KEY"], short_clip, vuflow_id=flow, title="Final",
                                     ref_id="r-1", external_id="x-1", extra={"channelId": CH_A, "tags": ["a"],
                                                                             "autoStart": True})
    source = client.get(f"/api/event/{source_id}", headers=h).json()
    for prefix in ("/api", ""):
        resp = client.get(f"{prefix}/event/clone/{source_id}", headers=h)
        assert resp.status_code == 200, resp.text
        clone = resp.json()
        assert clone["id"] != source_id and clone["contentId"] == clone["id"]
        assert (clone["state"], clone["stateString"], clone["mp4StateString"]) == (8, "PRE_VOD", "NONE")
        assert (clone["title"], clone["vuflowId"], clone["channelId"], clone["tags"], clone["autoStart"]) == (
            "Final", flow, CH_A, ["a"], True)
        assert clone["refId"] is None and clone["externalId"] is None and "lynkflowMediaId" not in clone
        assert client.get(f"/api/event/{clone['id']}", headers=h).json() == clone
        assert client.get(f"/api/asset/?eventId={clone['id']}", headers=h).json() == []
        assert_vis_error(client.post("/api/asset/gif/", json={"clip": {"eventId": clone["id"], "start": "00:00:00",
                                                                       "end": "00:00:01"}, "name": "x"}, headers=h),
                         409, "EventHasNoRecording")
    assert client.get(f"/api/event/{source_id}", headers=h).json() == source  # the source is untouched
    assert_vis_error(client.get("/api/event/clone/3f2504e0-4f89-41d3-9a0c-0305e82c3399", headers=h), 404)


def test_force_stop_refuses_vod_events(client, vis_headers, short_clip) -> None:
    h = vis_headers
    eid = event_with_recording(client.app.state.ctx, h["API-KEY"], short_clip)
    fresh = _make(client, h)
    for prefix, target, state in [("/api", eid, "VOD_PRIVATE"), ("", fresh, "PRE_VOD")]:
        body = assert_vis_error(client.put(f"{prefix}/event/forcestop/{target}", headers=h), 409, "EventNotLive")
        assert "only live events can be force-stopped" in body["exceptionMessage"] and body["data"]["state"] == state
    assert client.get(f"/api/event/{eid}", headers=h).json()["stateString"] == "VOD_PRIVATE"
    assert_vis_error(client.put("/api/event/forcestop/3f2504e0-4f89-41d3-9a0c-0305e82c3399", headers=h), 404)


@pytest.mark.parametrize("path", ["/event/reference", "/event/external", "/event/deleted/", "/event/reference/unique"])
def test_literal_paths_are_not_event_ids(client, vis_headers, path) -> None:
    for prefix in ("/api", ""):
        resp = client.get(f"{prefix}{path}?refId=r&externalId=e", headers=vis_headers)
        assert resp.status_code == 200, (prefix, path, resp.text)
        assert "EventNotFound" not in resp.text
