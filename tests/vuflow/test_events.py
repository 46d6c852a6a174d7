"""Events: create/patch/get/list, soft and hard delete, restore, state changes, enums."""

from __future__ import annotations

import pytest

from lynkflow.domain.vis_events import EVENT_STATES, MP4_STATES
from tests.vuflow.helpers import assert_vis_error, event_with_recording


def test_create_get_patch(client, vis_headers) -> None:
    flow = client.post("/api/vuflow/", json={"name": "Flow"}, headers=vis_headers).json()
    made = client.post("/api/event/", json={"title": "Match", "description": "d", "externalId": "ext-1",
                                            "refId": "ref-1", "vuflowId": flow["id"], "autoStart": True,
                                            "scheduledStart": "2024-05-01T12:00:00Z", "notAField": 1},
                       headers=vis_headers)
    assert made.status_code == 200, made.text
    event = made.json()
    assert event["contentId"] == event["id"]  # contentId defaults to the id
    assert (event["state"], event["stateString"]) == (8, "PRE_VOD")
    assert (event["mp4State"], event["mp4StateString"]) == (0, "NONE")
    assert (event["vuflowId"], event["vuflow"]) == (flow["id"], "Flow")
    assert event["autoStart"] is True and event["autoEnd"] is False
    assert event["scheduledStart"] == "2024-05-01T12:00:00Z"
    assert "notAField" not in event and event["dateDeleted"] is None
    eid = event["id"]
    assert client.get(f"/api/event/{eid}", headers=vis_headers).json() == event

    patched = client.patch(f"/api/event/{eid}", json={"title": "Final", "autoEnd": True}, headers=vis_headers)
    assert patched.status_code == 200
    assert (patched.json()["title"], patched.json()["autoEnd"], patched.json()["autoStart"]) == ("Final", True, True)
    assert patched.json()["description"] == "d"


def test_own_id_and_content_id(client, vis_headers) -> None:
    eid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    made = client.post("/api/event/", json={"id": eid, "contentId": "match-2024"}, headers=vis_headers).json()
    assert (made["id"], made["contentId"]) == (eid, "match-2024")
    assert_vis_error(client.post("/api/event/", json={"id": eid}, headers=vis_headers), 409, "EventExists")
    assert_vis_error(client.post("/api/event/", json={"contentId": "match-2024"}, headers=vis_headers),
                     409, "ContentIdInUse")
    assert_vis_error(client.patch(f"/api/event/{eid}", json={"contentId": "other"}, headers=vis_headers),
                     409, "ContentIdImmutable")
    assert_vis_error(client.post("/api/event/", json={"id": "not-a-guid"}, headers=vis_headers), 400, "InvalidId")
    for bad in ("../up", "a/b", ".hidden", "%2e%2e", "x" * 101):
        assert_vis_error(client.post("/api/event/", json={"contentId": bad}, headers=vis_headers), 400,
                         "InvalidContentId")
    assert_vis_error(client.post("/api/event/", json={"title": 5}, headers=vis_headers), 400, "InvalidField")
    assert_vis_error(client.post("/api/event/", json={"vuflowId": "3f2504e0-4f89-41d3-9a0c-0305e82c3399"},
                                 headers=vis_headers), 404, "VuflowNotFound")


def test_list_envelope_and_paging(client, vis_headers) -> None:
    ids = [client.post("/api/event/", json={"title": f"e{i}"}, headers=vis_headers).json()["id"] for i in range(5)]
    page = client.get("/api/event/?pageSize=2&pageNumber=1&order=ASC", headers=vis_headers).json()
    assert set(page) == {"results", "totalCount", "pageSize"}
    assert (page["totalCount"], page["pageSize"]) == (5, 2)
    assert [e["id"] for e in page["results"]] == ids[:2]
    last = client.get("/api/event/?PageSize=2&PageNumber=3&Order=asc", headers=vis_headers).json()
    assert [e["id"] for e in last["results"]] == ids[4:]
    beyond = client.get("/api/event/?pageSize=2&pageNumber=4", headers=vis_headers).json()
    assert beyond == {"results": [], "totalCount": 5, "pageSize": 2}  # a page past the last still counts them
    newest_first = client.get("/api/event/", headers=vis_headers).json()
    assert [e["id"] for e in newest_first["results"]] == ids[::-1]
    assert_vis_error(client.get("/api/event/?pageSize=0", headers=vis_headers), 400)


def test_soft_delete_restore_and_hard_delete(client, vis_headers, short_clip) -> None:
    ctx = client.app.state.ctx
    eid = event_with_recording(ctx, vis_headers["API-KEY"], short_clip)
    folder = ctx.storage.vis_root / client.get(f"/api/event/{eid}", headers=vis_headers).json()["contentId"]
    assert client.delete(f"/api/event/{eid}", headers=vis_headers).status_code == 200
    assert_vis_error(client.get(f"/api/event/{eid}", headers=vis_headers), 404)
    assert client.get("/api/event/", headers=vis_headers).json()["totalCount"] == 0
    assert client.get(f"/api/asset/?eventId={eid}", headers=vis_headers).json() == []
    deleted = client.get("/api/event/deleted/", headers=vis_headers).json()
    assert [e["id"] for e in deleted["results"]] == [eid] and deleted["results"][0]["dateDeleted"].endswith("Z")
    assert folder.is_dir()  # a soft delete keeps the files

    restored = client.get(f"/api/event/restore/{eid}", headers=vis_headers)
    assert restored.status_code == 200 and restored.json()["dateDeleted"] is None
    assert len(client.get(f"/api/asset/?eventId={eid}", headers=vis_headers).json()) == 1
    assert_vis_error(client.get(f"/api/event/restore/{eid}", headers=vis_headers), 409, "EventNotDeleted")

    assert client.delete(f"/api/event/{eid}?hardDelete=true", headers=vis_headers).status_code == 200
    assert not folder.exists()
    assert client.get("/api/event/deleted/", headers=vis_headers).json()["totalCount"] == 0
    assert_vis_error(client.get(f"/api/event/restore/{eid}", headers=vis_headers), 404)
    assert_vis_error(client.delete(f"/api/event/{eid}", headers=vis_headers), 404)
    assert_vis_error(client.delete(f"/api/event/{eid}?hardDelete=maybe", headers=vis_headers), 400)


def test_state_changes(client, vis_headers, short_clip) -> None:
    ctx = client.app.state.ctx
    eid = event_with_recording(ctx, vis_headers["API-KEY"], short_clip)
    public = client.put(f"/api/event/state/{eid}", json={"state": "VOD_PUBLIC"}, headers=vis_headers)
    assert (public.json()["state"], public.json()["stateString"]) == (11, "VOD_PUBLIC")
    private = client.put(f"/api/event/state/{eid}", json=10, headers=vis_headers)  # a bare value works too
    assert private.json()["stateString"] == "VOD_PRIVATE"
    assert client.put(f"/api/event/state/{eid}", json={"State": "vod_public"},
                      headers=vis_headers).json()["state"] == 11
    assert_vis_error(client.put(f"/api/event/state/{eid}", json={"state": "LIVE_PUBLISHED"}, headers=vis_headers),
                     409, "UnsupportedStateChange")
    assert_vis_error(client.put(f"/api/event/state/{eid}", json={"state": "NOPE"}, headers=vis_headers),
                     400, "InvalidEventState")
    assert_vis_error(client.put(f"/api/event/state/{eid}", json={}, headers=vis_headers), 400, "MissingField")
    fresh = client.post("/api/event/", json={"title": "no vod"}, headers=vis_headers).json()["id"]
    assert_vis_error(client.put(f"/api/event/state/{fresh}", json={"state": "VOD_PUBLIC"}, headers=vis_headers),
                     409, "EventHasNoVod")


@pytest.mark.parametrize(("number", "name"), [(0, "PRE_LIVE"), (8, "PRE_VOD"), (9, "VOD_INGESTING"),
                                              (10, "VOD_PRIVATE"), (11, "VOD_PUBLIC"), (16, "VOD_ERROR"),
                                              (25, "LIVE_STOPPING")])
def test_documented_state_enum(number: int, name: str) -> None:
    assert EVENT_STATES[number] == name and len(EVENT_STATES) == 26


def test_mp4_state_enum() -> None:
    assert MP4_STATES == {0: "NONE", 1: "AVAILABLE", 2: "GENERATING", 4: "FAILED"}


def test_create_with_source_path_starts_an_ingest(client, vis_headers) -> None:
    from sqlalchemy import select

    from lynkflow.db.models import Job

    ctx = client.app.state.ctx
    inbox = ctx.settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "rec.mp4").write_bytes(b"queued, not yet read")
    made = client.post("/api/event/", json={"title": "Rec", "sourcePath": "rec.mp4"}, headers=vis_headers)
    assert made.status_code == 200, made.text
    assert made.json()["stateString"] == "VOD_INGESTING" and made.json()["lynkflowMediaId"]
    with ctx.session() as db:
        [job] = db.scalars(select(Job)).all()
        assert (job.kind, job.payload["vis_event_id"]) == ("ingest", made.json()["id"])
    # Refusals leave no event behind.
    for body, status, error_type in [
        ({"sourcePath": "missing.mp4"}, 400, "InvalidSourcePath"),
        ({"sourcePath": "../../etc/passwd"}, 400, "InvalidSourcePath"),
        ({"sourcePath": "rec.mp4", "mediaId": "a" * 32}, 400, "ConflictingRecordingSources"),
        ({"mediaId": "a" * 32}, 404, "MediaNotFound"),
        ({"mediaId": made.json()["lynkflowMediaId"]}, 409, "MediaNotReady"),
    ]:
        assert_vis_error(client.post("/api/event/", json={"title": "no", **body}, headers=vis_headers),
                         status, error_type)
    assert client.get("/api/event/", headers=vis_headers).json()["totalCount"] == 1
    assert_vis_error(client.patch(f"/api/event/{made.json()['id']}", json={"sourcePath": "rec.mp4"},
                                  headers=vis_headers), 409, "EventIngesting")


def test_failed_ingest_is_vod_error(make_client) -> None:
    from tests.conftest import wait_for

    client = make_client(inproc_workers=1)
    ctx = client.app.state.ctx
    h = {"API-KEY": ctx.settings.vuflow_api_key}
    inbox = ctx.settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "junk.mp4").write_bytes(b"this is not a video")
    eid = client.post("/api/event/", json={"sourcePath": "junk.mp4"}, headers=h).json()["id"]
    event = wait_for(lambda: (e := client.get(f"/api/event/{eid}", headers=h).json())["state"] != 9 and e, 30)
    assert event["stateString"] == "VOD_ERROR" and event["lynkflowIngestError"]
    assert_vis_error(client.post("/api/asset/gif/", json={"clip": {"eventId": eid, "start": "00:00:00",
                                                                   "end": "00:00:01"}, "name": "x"}, headers=h),
                     409, "EventHasNoRecording")
