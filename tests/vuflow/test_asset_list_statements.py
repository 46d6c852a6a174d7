"""GET /api/asset/ and GET /api/event/ read a page in a constant number of statements, however many events
and vuflows it spans."""

from __future__ import annotations

import json

from lynkflow import ids
from lynkflow.db.models import VisAsset
from lynkflow.domain import vis_events, vis_vuflows
from tests.vuflow.helpers import statements_during


def _flow(ctx, key: str, base: str | None) -> str:
    config = {"storageUrlPublic": base} if base is not None else {}
    with ctx.session() as db:
        return vis_vuflows.create_vuflow(db, ctx, key, name=f"flow {base}", configuration_json=json.dumps(config)).id


def _events_with_assets(ctx, key: str, flows: list[str | None], events: int, per_event: int) -> list[str]:
    """`events` events (vuflows taken in turn from `flows`), each with `per_event` asset rows."""
    made = []
    with ctx.session() as db:
        for i in range(events):
            ev = vis_events.create_event(db, ctx, key, title=f"event {i}", vuflow_id=flows[i % len(flows)])
            made.append(ev.id)
            for j in range(per_event):
                name = f"clip-{i}-{j}.gif"
                db.add(VisAsset(id=ids.guid(), event_id=ev.id, api_key=key, name=name,
                                path=f"{ev.content_id}/assets/{name}", extension="gif", state=1, type=3,
                                job_id=None, content_id=ev.content_id, params={}, created=i * 100 + j,
                                modified=i * 100 + j))
    return made


def _vis_statements(client, ctx, headers: dict[str, str], url: str) -> tuple[int, list[dict]]:
    """(statements on the VIS tables during one request, the answer)."""
    n, resp = statements_during(ctx, lambda: client.get(url, headers=headers), "vis_")
    assert resp.status_code == 200, resp.text
    return n, resp.json()


def test_asset_page_statements_do_not_grow_with_events(client, vis_headers) -> None:
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    flows = [_flow(ctx, key, "{lynkflow}/storage/a"), _flow(ctx, key, "http://cdn.example.test/b/"),
             _flow(ctx, key, None)]
    one = _events_with_assets(ctx, key, flows[:1], events=1, per_event=2)
    # The first request of a process loads what it caches for every request (the tenant directory).
    assert client.get("/api/asset/", headers=vis_headers).status_code == 200
    small, small_page = _vis_statements(client, ctx, vis_headers, f"/api/asset/?eventId={one[0]}")
    assert len(small_page) == 2

    many = _events_with_assets(ctx, key, flows + [None], events=20, per_event=2)
    big, page = _vis_statements(client, ctx, vis_headers, "/api/asset/")
    assert len(page) == 42
    # N+1 would read each event (and each vuflow) once more per page: 20 events here against 1.
    assert big == small, (small, big)

    # The URLs still come from each asset's own event's vuflow.
    by_event = {e: i for i, e in enumerate(many)}
    for a in page:
        if a["eventId"] in by_event:
            kind = by_event[a["eventId"]] % 4
            if kind == 0:
                assert a["url"] == f"http://testserver/storage/a/{a['path']}", a
            elif kind == 1:
                assert a["url"] == f"http://cdn.example.test/b/{a['path']}", a
            elif kind == 2:  # a vuflow without storageUrlPublic
                assert a["url"] == "", a
            else:  # no vuflow: the key's default one, lynkflow's own storage
                assert a["url"] == f"http://testserver/storage/vis/{a['path']}", a


def test_event_page_statements_do_not_grow_with_vuflows(client, vis_headers) -> None:
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    assert client.get("/api/event/", headers=vis_headers).status_code == 200
    flows = [_flow(ctx, key, f"http://cdn.example.test/{i}") for i in range(6)]
    _events_with_assets(ctx, key, flows[:1], events=2, per_event=0)
    small, _ = _vis_statements(client, ctx, vis_headers, "/api/event/")
    _events_with_assets(ctx, key, flows, events=12, per_event=0)
    big, page = _vis_statements(client, ctx, vis_headers, "/api/event/")
    assert page["totalCount"] == 14 and len(page["results"]) == 14
    # One vuflow read per distinct vuflow would be 6 here against 1.
    assert big == small, (small, big)
    names = {e["vuflowId"]: e["vuflow"] for e in page["results"]}
    assert names == {f: "flow http://cdn.example.test/" + str(i) for i, f in enumerate(flows)}
