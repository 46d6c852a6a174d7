"""Vuflows: CRUD, configurationJson as a string, storageUrlPublic → asset URLs."""

from __future__ import annotations

import json

import pytest

from lynkflow.domain.vis_vuflows import storage_url_public
from tests.vuflow.helpers import assert_vis_error


def test_crud(client, vis_headers) -> None:
    config = json.dumps({"vuflows": [{"name": "one", "type": "TaskEngine"}]})
    made = client.post("/api/vuflow/", json={"name": "Flow", "configurationJson": config}, headers=vis_headers)
    assert made.status_code == 200
    flow = made.json()
    assert flow["configurationJson"] == config and isinstance(flow["configurationJson"], str)
    assert flow["dateCreated"].endswith("Z")
    fid = flow["id"]
    assert client.get(f"/api/vuflow/{fid}", headers=vis_headers).json() == flow

    put = client.put(f"/api/vuflow/{fid}", json={"id": fid, "name": "Renamed"}, headers=vis_headers)
    assert put.status_code == 200 and put.json()["name"] == "Renamed" and put.json()["configurationJson"] == config
    # An object is accepted too and stored as its JSON string.
    put = client.put(f"/api/vuflow/{fid}", json={"configurationJson": {"storageUrlPublic": "http://cdn"}},
                     headers=vis_headers)
    assert json.loads(put.json()["configurationJson"]) == {"storageUrlPublic": "http://cdn"}

    assert client.delete(f"/api/vuflow/{fid}", headers=vis_headers).status_code == 200
    assert_vis_error(client.get(f"/api/vuflow/{fid}", headers=vis_headers), 404, "VuflowNotFound")
    assert_vis_error(client.delete(f"/api/vuflow/{fid}", headers=vis_headers), 404)


def test_refusals(client, vis_headers) -> None:
    assert_vis_error(client.post("/api/vuflow/", json={"name": "x", "configurationJson": "{oops"},
                                 headers=vis_headers), 400, "InvalidConfigurationJson")
    assert_vis_error(client.post("/api/vuflow/", json={"name": "x", "configurationJson": "[1]"},
                                 headers=vis_headers), 400, "InvalidConfigurationJson")
    assert_vis_error(client.post("/api/vuflow/", json={"configurationJson": "{}"}, headers=vis_headers), 400)
    fid = client.post("/api/vuflow/", json={"name": "x"}, headers=vis_headers).json()["id"]
    assert_vis_error(client.post("/api/vuflow/", json={"id": fid, "name": "again"}, headers=vis_headers),
                     409, "VuflowExists")
    assert_vis_error(client.put(f"/api/vuflow/{fid}", json={"id": "8d0f0c3e-0000-4000-8000-000000000000"},
                                headers=vis_headers), 400, "IdMismatch")
    client.post("/api/event/", json={"title": "uses it", "vuflowId": fid}, headers=vis_headers)
    assert_vis_error(client.delete(f"/api/vuflow/{fid}", headers=vis_headers), 409, "VuflowInUse")


@pytest.mark.parametrize(("config", "expected"), [
    ({"storageUrlPublic": "http://a"}, "http://a"),
    ({"StorageUrlPublic": "http://b"}, "http://b"),
    ({"vuflows": [{"name": "n", "storageUrlPublic": "http://c"}]}, "http://c"),
    ({"vuflows": []}, ""),
    ({}, ""),
    ({"storageUrlPublic": 5}, ""),
])
def test_storage_url_public(config: dict, expected: str) -> None:
    assert storage_url_public(json.dumps(config)) == expected
    assert storage_url_public("not json") == ""
