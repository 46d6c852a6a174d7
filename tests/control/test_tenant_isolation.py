"""A tenant never sees another's data: every api2 operation family and every VIS route family, tried
by tenant B against tenant A's ids and lists."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import UplynkCaller
from tests.uplynk.conftest import make_asset


@pytest.fixture
def tenants(client) -> tuple[dict[str, Any], dict[str, Any]]:
    made = [client.post("/_lynkflow/tenants", json={"name": n}).json() for n in ("a", "b")]
    return made[0], made[1]


@pytest.fixture
def api_a(client, tenants) -> UplynkCaller:
    """Tenant A's api2 caller: one per test, so its signer never repeats a msg (two signers of one owner
    can, when their calls share a second: the second one is then refused as a replay)."""
    a, _ = tenants
    return UplynkCaller(client, a["uplynk"]["owner"], a["uplynk"]["apiKey"])


@pytest.fixture
def world(client, tenants, api_a) -> dict[str, Any]:
    """Tenant A with an asset, a library holding it, a subowner, a slicer job, a VIS event and vuflow."""
    a, _ = tenants
    ctx = client.app.state.ctx
    asset = make_asset(ctx, owner=a["uplynk"]["owner"], desc="A's asset", external_id="a-ext")
    library = api_a.ok("library/create", desc="A's library")["library"]["id"]
    api_a.ok("library/add", id=library, asset_id=asset)
    subowner = api_a.ok("subowners/create", username="a.jane", password="pw")["id"]
    ctx.settings.resolved_media_dir.mkdir(parents=True, exist_ok=True)
    (ctx.settings.resolved_media_dir / "a.mp4").write_bytes(b"not run: no workers in this app")
    job = api_a.ok("cloudslicer/jobs/create", source={"url": "a.mp4"})["job"]["id"]
    keys = api_a.ok("owners/api-key/add")
    vis_a = {"API-KEY": a["vis"]["apiKey"]}
    event = client.post("/api/event/", headers=vis_a, json={"title": "A's event", "referenceId": "a-ref"}).json()
    flow = client.post("/api/vuflow/", headers=vis_a, json={"name": "A's flow", "configurationJson": "{}"}).json()
    return {"asset": asset, "library": library, "subowner": subowner, "job": job, "event": event["id"],
            "vuflow": flow["id"], "key": keys.get("api_key", {}).get("id") if isinstance(keys.get("api_key"), dict)
            else None}


def test_api2_operations_of_b_never_reach_a(client, tenants, world, api_a):
    _, b = tenants
    api_b = UplynkCaller(client, b["uplynk"]["owner"], b["uplynk"]["apiKey"])
    assert api_b.ok("asset/list")["assets"] == []
    assert api_b.ok("asset/list", search="asset")["assets"] == []
    assert api_b.ok("asset/changes", start=0)["changes"] == []
    for op, params in [("asset/get", {"id": world["asset"]}), ("asset/get", {"external_id": "a-ext"}),
                       ("asset/update", {"id": world["asset"], "desc": "mine now"}),
                       ("asset/delete", {"id": world["asset"]}),
                       ("asset/getthumbs", {"id": world["asset"]}),
                       ("asset/getframe", {"id": world["asset"], "time": 0}),
                       ("library/get", {"id": world["library"]}), ("library/assets", {"id": world["library"]}),
                       ("library/update", {"id": world["library"], "desc": "mine"}),
                       ("library/remove", {"id": world["library"], "asset_id": world["asset"]}),
                       ("library/share", {"id": world["library"], "owner": b["uplynk"]["owner"]}),
                       ("subowners/get", {"id": world["subowner"]}),
                       ("subowners/update", {"id": world["subowner"], "password": "x"}),
                       ("subowners/delete", {"id": world["subowner"]}),
                       ("cloudslicer/jobs/get", {"id": world["job"]}),
                       ("cloudslicer/jobs/cancel", {"id": world["job"]}),
                       ("cloudslicer/jobs/create_export", {"asset": world["asset"]}),
                       ("cloudslicer/jobs/quickclip", {"source": {"asset": world["asset"]}})]:
        out = api_b(op, **params)
        assert out["error"] == 1 or out.get("asset", {}).get("id") != world["asset"], (op, out)
    new_lib = api_b.ok("library/create", desc="B's")["library"]["id"]
    assert api_b("library/add", id=new_lib, asset_id=world["asset"])["error"] == 1
    assert [lib["id"] for lib in api_b.ok("library/list")["libraries"]] == [new_lib]
    assert api_b.ok("subowners/list")["subowners"] == []
    assert api_b.ok("cloudslicer/jobs/list")["jobs"] == []
    api_b("cloudslicer/jobs/delete", ids=[world["job"]])
    # A still has everything.
    assert api_a.ok("asset/get", id=world["asset"])["asset"]["desc"] == "A's asset"
    assert api_a.ok("cloudslicer/jobs/get", id=world["job"])["job"]["id"] == world["job"]
    assert api_a.ok("subowners/get", id=world["subowner"])["id"] == world["subowner"]


def test_vis_routes_of_b_never_reach_a(client, tenants, world):
    _, b = tenants
    vis_b = {"API-KEY": b["vis"]["apiKey"]}
    event, flow = world["event"], world["vuflow"]
    assert client.get("/api/event/", headers=vis_b).json()["results"] == []
    assert [f["id"] for f in client.get("/api/vuflow/", headers=vis_b).json()] == [b["vis"]["vuflowId"]]
    assert client.get("/api/asset/", headers=vis_b).json() == [] or \
        client.get("/api/asset/", headers=vis_b).json().get("results") == []
    for method, path, body in [("GET", f"/api/event/{event}", None), ("PATCH", f"/api/event/{event}", {"title": "x"}),
                               ("DELETE", f"/api/event/{event}", None), ("PUT", f"/api/event/state/{event}",
                                                                         {"state": 2}),
                               ("GET", f"/api/event/clone/{event}", None),
                               ("PATCH", "/api/event/reference/a-ref", {"title": "x"}),
                               ("GET", f"/api/vuflow/{flow}", None), ("PUT", f"/api/vuflow/{flow}", {"name": "x"}),
                               ("DELETE", f"/api/vuflow/{flow}", None),
                               ("PUT", f"/api/asset/sync/{event}", None),
                               ("POST", "/api/asset/gif/", {"name": "g", "clip": {"eventId": event, "start": "0",
                                                                                   "end": "1"}})]:
        resp = client.request(method, path, headers=vis_b, json=body)
        assert resp.status_code in (400, 404), (method, path, resp.status_code, resp.text)
    assert client.get(f"/api/asset/?eventId={event}", headers=vis_b).json() in ([], {"results": []}) or \
        client.get(f"/api/asset/?eventId={event}", headers=vis_b).status_code == 404
    assert client.get("/api/event/reference/", params={"refId": "a-ref"}, headers=vis_b).json()["results"] == []
    vis_a = {"API-KEY": tenants[0]["vis"]["apiKey"]}
    assert client.get(f"/api/event/{event}", headers=vis_a).json()["title"] == "A's event"


def test_resetting_one_tenant_leaves_the_other_whole(client, tenants, world, api_a):
    a, b = tenants
    api_b = UplynkCaller(client, b["uplynk"]["owner"], b["uplynk"]["apiKey"])
    mine = make_asset(client.app.state.ctx, owner=b["uplynk"]["owner"], desc="B's")
    removed = client.post(f"/_lynkflow/tenants/{a['id']}/reset").json()["removed"]
    # Its asset and the one its slicer job made, its library, its subowner.
    assert removed["uplynk"]["assets"] == 2 and removed["uplynk"]["libraries"] == 1
    assert removed["uplynk"]["slicerJobs"] == 1 and removed["uplynk"]["subowners"] == 1
    assert removed["vis"]["events"] == 1
    assert api_a.ok("asset/list")["assets"] == [] and api_a.ok("subowners/list")["subowners"] == []
    assert [f["id"] for f in client.get("/api/vuflow/", headers={"API-KEY": a["vis"]["apiKey"]}).json()] == \
        [a["vis"]["vuflowId"]]  # its default vuflow stays
    assert api_b.ok("asset/get", id=mine)["asset"]["desc"] == "B's"
