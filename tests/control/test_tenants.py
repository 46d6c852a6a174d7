"""Tenants through HTTP: made in one call, isolated data, their own clock, faults, lifecycles, journal."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest

from lynkflow.jobs import queue
from lynkflow.jobs.workers import finish_job
from lynkflow.tenancy import tenant_scope
from lynkflow.testing.clients import ControlClient
from lynkflow.testing.signing import Signer, encode_msg, sign


def new_tenant(client: Any, name: str = "") -> dict[str, Any]:
    resp = client.post("/_lynkflow/tenants", json={"name": name} if name else {})
    assert resp.status_code == 200, resp.text
    return resp.json()


class Tenant:
    """A tenant's two faces through the test client, signed with the tenant's own clock."""

    def __init__(self, client: Any, doc: dict[str, Any]) -> None:
        self.client, self.doc, self.id = client, doc, doc["id"]
        self.owner = doc["uplynk"]["owner"]
        self.signer = Signer(self.owner, doc["uplynk"]["apiKey"])
        self.vis = {"API-KEY": doc["vis"]["apiKey"]}

    def now_s(self) -> int:
        resp = self.client.get(f"/_lynkflow/tenants/{self.id}/clock")
        return resp.json()["nowMs"] // 1000 if resp.status_code == 200 else int(time.time())  # deleted: real time

    def api2(self, path: str, **params: Any) -> dict[str, Any]:
        resp = self.client.post(path, data=self.signer(params, timestamp=self.now_s()))
        assert resp.status_code == 200
        return resp.json()


@pytest.fixture
def two(client) -> tuple[Tenant, Tenant]:
    return Tenant(client, new_tenant(client, "a")), Tenant(client, new_tenant(client, "b"))


def test_a_tenant_is_made_in_one_call_with_working_credentials(client):
    doc = new_tenant(client, "uploads")
    assert doc["name"] == "uploads" and len(doc["uplynk"]["owner"]) == 32 and doc["uplynk"]["apiKey"]
    assert doc["vis"]["apiKey"] and doc["vis"]["vuflowId"]
    assert doc["urls"]["api2"].endswith("/api2") and doc["urls"]["vis"].endswith("/api")
    t = Tenant(client, doc)
    assert t.api2("/api2/asset/list")["error"] == 0
    flows = client.get("/api/vuflow/", headers=t.vis).json()
    assert [f["id"] for f in flows] == [doc["vis"]["vuflowId"]]
    listed = client.get("/_lynkflow/tenants").json()["tenants"]
    assert [x["id"] for x in listed] == [doc["id"]] and listed[0]["uplynk"]["apiKey"] is None
    assert client.get(f"/_lynkflow/tenants/{doc['id']}").json()["uplynk"]["apiKey"] == doc["uplynk"]["apiKey"]


def test_unknown_tenants_and_bad_bodies_are_refused(client):
    assert client.get("/_lynkflow/tenants/nope").status_code == 404
    assert client.post("/_lynkflow/tenants/nope/reset").status_code == 404
    assert client.delete("/_lynkflow/tenants/" + "0" * 32).status_code == 404
    assert client.post("/_lynkflow/tenants/nope/clock/freeze").status_code == 404
    resp = client.post("/_lynkflow/tenants", json={"colour": "red"})
    assert resp.status_code == 400 and "name" in resp.json()["error"]
    assert client.post("/_lynkflow/tenants", json={"name": "x" * 500}).status_code == 400
    assert "NUL" in client.post("/_lynkflow/tenants", json={"name": "a\u0000b"}).json()["error"]
    assert client.get("/_lynkflow/tenants/a%00b").status_code == 404


def test_deleting_a_tenant_revokes_its_credentials(client, two):
    a, b = two
    assert client.delete(f"/_lynkflow/tenants/{a.id}").json()["deleted"] == a.id
    refused = a.api2("/api2/asset/list")
    assert refused["error"] == 1 and "unknown _owner" in refused["msg"]
    assert client.get("/api/event/", headers=a.vis).status_code == 401
    assert b.api2("/api2/asset/list")["error"] == 0
    assert [x["id"] for x in client.get("/_lynkflow/tenants").json()["tenants"]] == [b.id]


def test_a_frozen_tenant_clock_is_that_tenants_alone(client, two):
    a, b = two
    frozen = client.post(f"/_lynkflow/tenants/{a.id}/clock/freeze", json={"at": "2021-06-01T00:00:00Z"}).json()
    assert frozen["frozen"] and frozen["nowMs"] == 1_622_505_600_000
    assert not client.get(f"/_lynkflow/tenants/{b.id}/clock").json()["frozen"]
    assert not client.get("/_lynkflow/clock").json()["frozen"]
    # A's requests are judged by A's clock: a request stamped with real time is stale for A.
    real = client.post("/api2/asset/list", data=a.signer({}))
    assert real.json()["error"] == 1 and "in the future" in real.json()["msg"]
    assert a.api2("/api2/asset/list")["error"] == 0  # stamped with A's own time
    assert client.post("/api2/asset/list", data=b.signer({})).json()["error"] == 0
    # Timestamps A's data gets come from A's clock.
    flow = {"name": "flow", "configurationJson": "{}"}
    made = client.post("/api/vuflow/", headers=a.vis, json=flow).json()
    other = client.post("/api/vuflow/", headers=b.vis, json=flow).json()
    assert made["dateCreated"] == "2021-06-01T00:00:00Z"
    assert not other["dateCreated"].startswith("2021")
    client.post(f"/_lynkflow/tenants/{a.id}/clock/advance", json={"seconds": 60})
    assert client.get(f"/_lynkflow/tenants/{a.id}/clock").json()["nowMs"] == 1_622_505_660_000
    client.post(f"/_lynkflow/tenants/{a.id}/reset")  # its clock follows the instance again
    assert not client.get(f"/_lynkflow/tenants/{a.id}/clock").json()["frozen"]


def test_a_tenant_fault_rule_hits_only_that_tenant(client, two):
    a, b = two
    rule = client.post("/_lynkflow/faults", json={"route": "/api/event/*", "action": "error", "status": 503,
                                                   "tenant": a.id}).json()
    assert rule["tenant"] == a.id
    assert client.get("/api/event/", headers=a.vis).status_code == 503
    assert client.get("/api/event/", headers=b.vis).status_code == 200
    client.post("/_lynkflow/faults", json={"route": "/api2/asset/list", "action": "error", "tenant": b.id,
                                           "message": "b is down"})
    assert b.api2("/api2/asset/list") == {"error": 1, "msg": "b is down"}
    assert a.api2("/api2/asset/list")["error"] == 0
    # Resetting a tenant removes its rules and no one else's.
    client.post(f"/_lynkflow/tenants/{a.id}/reset")
    assert [f["tenant"] for f in client.get("/_lynkflow/faults").json()["faults"]] == [b.id]
    assert client.get("/api/event/", headers=a.vis).status_code == 200


def test_journal_entries_carry_their_tenant_and_filter_by_it(client, two):
    a, b = two
    a.api2("/api2/asset/list")
    client.get("/api/event/", headers=b.vis)
    entries = client.get("/_lynkflow/journal", params={"tenant": a.id}).json()["entries"]
    assert [(e["route"], e["tenant"]) for e in entries] == [("/api2/asset/list", a.id)]
    assert client.get("/_lynkflow/journal/count", params={"tenant": b.id}).json()["count"] == 1
    client.delete(f"/_lynkflow/tenants/{a.id}/journal")
    assert client.get("/_lynkflow/journal/count", params={"tenant": a.id}).json()["count"] == 0
    assert client.get("/_lynkflow/journal/count", params={"tenant": b.id}).json()["count"] == 1


def test_tenant_lifecycles_are_their_own(client, two):
    a, b = two
    held = client.put(f"/_lynkflow/tenants/{a.id}/lifecycles/gif", json={"mode": "manual"}).json()
    assert held["lifecycles"]["gif"]["mode"] == "manual"
    assert client.get(f"/_lynkflow/tenants/{b.id}/lifecycles").json()["lifecycles"]["gif"]["mode"] == "real"
    assert client.get("/_lynkflow/lifecycles").json()["lifecycles"]["gif"]["mode"] == "real"
    assert client.put(f"/_lynkflow/tenants/{a.id}/lifecycles/gif", json={"mode": "slow"}).status_code == 400


def test_stale_requests_of_a_tenant_get_the_stale_verdict(client, two):
    a, _ = two
    msg = encode_msg({}, a.owner, timestamp=1000)
    client.post("/api2/asset/list", data={"msg": msg, "sig": sign(msg, a.doc["uplynk"]["apiKey"])})
    entry = client.get("/_lynkflow/journal", params={"tenant": a.id}).json()["entries"][-1]
    assert entry["signature"] == "stale-timestamp" and entry["error"] == 1 and "old" in entry["msg"]


def test_an_api2_tenant_is_found_in_a_get_query_string_and_a_multipart_body_is_left_to_the_face(client, two):
    a, b = two
    client.post("/_lynkflow/faults", json={"route": "/api2/asset/list", "action": "error", "tenant": a.id,
                                           "message": "a only"})
    pair = a.signer({}, timestamp=a.now_s())
    assert client.get("/api2/asset/list", params=pair).json() == {"error": 1, "msg": "a only"}
    # A multipart body is not read ahead: the request is the instance's, and the face still serves it.
    served = client.post("/api2/asset/list", files={k: (None, v) for k, v in b.signer({}).items()})
    assert served.json()["error"] == 0


def test_the_jobs_list_keeps_one_tenants_jobs_and_the_kit_asks_the_server_for_them(client, two):
    a, b = two
    ctx = client.app.state.ctx

    def enqueue_for(tenant: str | None) -> int:
        with tenant_scope(tenant), ctx.session() as db:
            return queue.enqueue(db, ctx, "tenant-probe", {}).id

    mine = enqueue_for(a.id)
    others = [enqueue_for(b.id), enqueue_for(None)]  # newer: they come first in an unfiltered page
    listed = client.get("/_lynkflow/jobs", params={"tenant": a.id}).json()
    assert [j["id"] for j in listed["jobs"]] == [mine] and listed["total"] == 1
    everyone = client.get("/_lynkflow/jobs", params={"kind": "tenant-probe"}).json()
    assert [j["id"] for j in everyone["jobs"]] == [*reversed(others), mine]
    assert client.get("/_lynkflow/jobs", params={"tenant": "0" * 32}).json() == {
        "jobs": [], "total": 0, "limit": 100, "offset": 0}
    for bad in ("a/b", "x" * 33, "a\x00b"):
        refused = client.get("/_lynkflow/jobs", params={"tenant": bad})
        assert refused.status_code == 400 and "tenant must be a tenant id" in refused.json()["error"]
    # The kit bound to a tenant gets its jobs even when newer ones of others fill the page it asks for.
    kit = ControlClient(str(client.base_url), tenant=a.id, transport=client._transport)
    assert [j["id"] for j in kit.jobs(limit=1)] == [mine]


def test_a_held_jobs_delay_runs_out_on_the_clock_it_was_held_on(client, two):
    a, b = two
    ctx = client.app.state.ctx
    client.post(f"/_lynkflow/tenants/{a.id}/clock/freeze", json={"at": "2021-06-01T00:00:00Z"})

    def held_for(tenant: str | None, delay_ms: int) -> int:
        """A job held as a worker holds one under a `delay` lifecycle: released `delay_ms` from now,
        on the clock of the tenant it ran for."""
        with tenant_scope(tenant), ctx.session() as db:
            job = queue.enqueue(db, ctx, "tenant-probe", {})
            job.state, job.release_at_ms = queue.HELD, ctx.clock.now_ms() + delay_ms
            return job.id

    frozen_a = held_for(a.id, 5_000)  # A's time stands in 2021: by the instance clock it is long due
    running_b, instance = held_for(b.id, 0), held_for(None, 0)
    later = held_for(None, 3_600_000)
    assert sorted(queue.due_held_job_ids(ctx)) == sorted([running_b, instance])
    client.post(f"/_lynkflow/tenants/{a.id}/clock/advance", json={"seconds": 5})
    assert sorted(queue.due_held_job_ids(ctx)) == sorted([frozen_a, running_b, instance])
    assert later not in queue.due_held_job_ids(ctx)
    # Released, it finished at its tenant's time too (as it was created and held on it).
    assert finish_job(ctx, frozen_a).finished == 1_622_505_605_000


def test_with_tenants_an_api2_msg_is_decoded_once_per_request(client, two, monkeypatch):
    """The control middleware decodes the msg to find the tenant; the face reuses that decoding."""
    from lynkflow.uplynk import signature

    a, _ = two
    decodes: list[str] = []
    real = signature.decode_msg

    def counting(msg: str) -> dict[str, Any]:
        decodes.append(msg)
        return real(msg)

    monkeypatch.setattr(signature, "decode_msg", counting)
    body = a.signer({}, timestamp=a.now_s())
    assert client.post("/api2/asset/list", data=body).json()["error"] == 0  # the tenant's own asset list
    assert decodes == [body["msg"]]
    query = a.signer({}, timestamp=a.now_s())
    assert client.get("/api2/asset/list", params=query).json()["error"] == 0
    assert decodes == [body["msg"], query["msg"]]


def test_the_tenant_of_a_form_with_two_msgs_is_the_one_the_signature_is_checked_for(client, two):
    """The tenant comes from the msg the face authenticates (the first of a form's), never from another."""
    a, b = two
    client.post("/_lynkflow/faults", json={"route": "/api2/asset/list", "action": "error", "tenant": a.id,
                                           "message": "a only"})
    first, second = a.signer({}, timestamp=a.now_s()), b.signer({}, timestamp=b.now_s())
    body = urlencode([("msg", first["msg"]), ("msg", second["msg"]), ("sig", first["sig"])])
    resp = client.post("/api2/asset/list", content=body,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.json() == {"error": 1, "msg": "a only"}
    entry = client.get("/_lynkflow/journal", params={"tenant": a.id}).json()["entries"][-1]
    assert entry["route"] == "/api2/asset/list"
