"""VIS conventions: API keys, both mounts, X-Transaction-ID, error shape, casing, health."""

from __future__ import annotations

import pytest

from lynkflow.db.models import VisApiKey
from lynkflow.domain.vis_vuflows import default_vuflow_id
from tests.vuflow.helpers import assert_vis_error

OTHER_KEY = "99999999-1111-4222-8333-444444444444"


@pytest.mark.parametrize("path", ["/api/vuflow/", "/api/event/", "/api/asset/", "/vuflow/", "/event/", "/asset/",
                                  "/api/asset", "/asset"])
def test_a_key_is_required(client, path: str) -> None:
    body = assert_vis_error(client.get(path), 401, "MissingApiKey")
    assert body["exceptionType"] == "UnauthorizedException"
    assert_vis_error(client.get(path, headers={"API-KEY": "not-a-key"}), 401, "InvalidApiKey")
    assert_vis_error(client.get(path, headers={"Authorization": "Bearer x"}), 401)


def test_both_key_headers_work(client, vis_headers) -> None:
    key = vis_headers["API-KEY"]
    assert client.get("/api/event/", headers={"API-KEY": key}).status_code == 200
    assert client.get("/api/event/", headers={"X-Auth-Key": key}).status_code == 200
    assert client.get("/api/event/", headers={"api-key": key}).status_code == 200


def test_both_mounts_are_one_router(client, vis_headers) -> None:
    created = client.post("/vuflow/", json={"name": "Root", "configurationJson": "{}"}, headers=vis_headers)
    assert created.status_code == 200, created.text
    flow_id = created.json()["id"]
    # Made at the root, seen under /api/, with and without the trailing slash.
    for path in (f"/api/vuflow/{flow_id}", f"/api/vuflow/{flow_id}/", f"/vuflow/{flow_id}"):
        assert client.get(path, headers=vis_headers).json()["name"] == "Root"
    listed = [f["id"] for f in client.get("/api/vuflow", headers=vis_headers).json()]
    assert listed == [default_vuflow_id(vis_headers["API-KEY"]), flow_id]  # the key's default first


def test_transaction_id_is_echoed_on_success_and_error(client, vis_headers) -> None:
    ok = client.get("/api/event/", headers={**vis_headers, "X-Transaction-ID": "tx-123"})
    assert ok.headers["X-Transaction-ID"] == "tx-123"
    err = client.get("/api/event/", headers={"X-Transaction-ID": "tx-456"})
    assert err.status_code == 401 and err.headers["X-Transaction-ID"] == "tx-456"
    missing = client.get("/api/event/0b0b0b0b-0000-4000-8000-000000000000",
                         headers={**vis_headers, "X-Transaction-ID": "tx-789"})
    assert missing.status_code == 404 and missing.headers["X-Transaction-ID"] == "tx-789"
    assert "X-Transaction-ID" not in client.get("/api/event/", headers=vis_headers).headers


def test_keys_see_only_their_own_objects(client, vis_headers) -> None:
    ctx = client.app.state.ctx
    with ctx.session() as db:
        db.add(VisApiKey(key=OTHER_KEY, name="other", created=0))
    other = {"API-KEY": OTHER_KEY}
    flow = client.post("/api/vuflow/", json={"name": "Mine"}, headers=vis_headers).json()
    event = client.post("/api/event/", json={"title": "Mine", "vuflowId": flow["id"]}, headers=vis_headers).json()
    assert client.get("/api/vuflow/", headers=other).json() == []
    assert client.get("/api/event/", headers=other).json()["totalCount"] == 0
    assert_vis_error(client.get(f"/api/event/{event['id']}", headers=other), 404, "EventNotFound")
    assert_vis_error(client.get(f"/api/vuflow/{flow['id']}", headers=other), 404, "VuflowNotFound")
    # Another key's vuflow cannot be referenced either.
    assert_vis_error(client.post("/api/event/", json={"vuflowId": flow["id"]}, headers=other), 404)


def test_property_names_are_case_insensitive(client, vis_headers) -> None:
    made = client.post("/api/vuflow/", json={"Name": "Pascal", "ConfigurationJson": "{\"a\": 1}"},
                       headers=vis_headers)
    assert made.status_code == 200, made.text
    assert made.json()["name"] == "Pascal" and made.json()["configurationJson"] == "{\"a\": 1}"
    event = client.post("/api/event/", json={"TITLE": "Shouty", "ExternalID": "x-1"}, headers=vis_headers).json()
    assert (event["title"], event["externalId"]) == ("Shouty", "x-1")


@pytest.mark.parametrize(("body", "error_type"), [
    (b"{not json", "InvalidJson"),
    (b"[1, 2]", "InvalidBody"),
    (b"", "InvalidBody"),
    (b"{\"name\": 5}", "MissingField"),
])
def test_bad_bodies_get_the_vis_shape(client, vis_headers, body: bytes, error_type: str) -> None:
    resp = client.post("/api/vuflow/", content=body, headers={**vis_headers, "Content-Type": "application/json"})
    assert assert_vis_error(resp, 400, error_type)["exceptionType"] == "ValidationException"


def test_bad_query_values_get_the_vis_shape(client, vis_headers) -> None:
    assert_vis_error(client.get("/api/asset/?pageIndex=-1", headers=vis_headers), 400, "InvalidQuery")
    assert_vis_error(client.get("/api/asset/?pageIndex=abc", headers=vis_headers), 400, "InvalidQuery")
    assert_vis_error(client.get("/api/event/?order=SIDEWAYS", headers=vis_headers), 400, "InvalidQuery")


def test_unknown_vis_path_is_404_and_other_faces_are_untouched(client, vis_headers) -> None:
    assert client.get("/api/nothing-here/", headers=vis_headers).status_code == 404
    # The VIS error shape is the VIS router's own: a control-plane route keeps its answers.
    assert client.get("/_lynkflow/health").status_code == 200


def test_health(client) -> None:
    for prefix in ("/api", ""):
        resp = client.get(f"{prefix}/health/")
        assert resp.status_code == 200 and resp.json()["database"] == "Healthy"
        version = client.get(f"{prefix}/health/version").json()
        assert set(version) == {"client", "machineName", "assemblyVersion", "fileVersion", "productVersion"}


def test_route_class_shapes_framework_errors() -> None:
    """Typed parameters and unexpected exceptions on a VIS route still answer in the VIS shape."""
    from fastapi import APIRouter, FastAPI
    from fastapi.testclient import TestClient

    from lynkflow.vuflow.errors import VisRoute

    router = APIRouter(route_class=VisRoute)

    @router.get("/typed")
    def typed(count: int) -> dict:
        return {"count": count}

    @router.get("/boom")
    def boom() -> dict:
        raise RuntimeError("disk on fire")

    app = FastAPI()
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/typed?count=3").json() == {"count": 3}
        body = assert_vis_error(c.get("/typed?count=many", headers={"X-Transaction-ID": "t1"}), 400,
                                "RequestValidation")
        assert "count" in body["exceptionMessage"]
        crash = c.get("/boom", headers={"X-Transaction-ID": "t2"})
        body = assert_vis_error(crash, 500, "UnexpectedError")
        assert body["exceptionType"] == "Exception" and "disk on fire" in body["exceptionMessage"]
        assert crash.headers["X-Transaction-ID"] == "t2"
