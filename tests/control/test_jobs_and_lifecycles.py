"""Lifecycles (real / delay / manual) and the jobs routes, with a small real handler.

The handler writes a file (its "media") in `run` and records its visible outcome in `finish` /
`fail`, so the tests can see that the work happens at once while the outcome waits for the policy.
"""

from __future__ import annotations

from typing import Any

import pytest

from lynkflow.db.models import KeyValue
from lynkflow.jobs import queue
from lynkflow.jobs.registry import Handler, JobRun, register
from tests.conftest import wait_for, wait_housekeeping

KIND = "control-test-echo"


def _run(ctx: Any, job: JobRun) -> dict[str, Any]:
    out = ctx.storage.root / "inbox" / f"echo-{job.id}.txt"
    out.write_text(job.payload["text"])
    return {"path": ctx.storage.relative(out)}


def _outcome(ctx: Any, job_id: int, value: str) -> None:
    with ctx.session() as db:
        db.merge(KeyValue(key=f"echo:{job_id}", value=value))


register(Handler(KIND, _run, finish=lambda ctx, jid, p, r: _outcome(ctx, jid, "visible:" + r["path"]),
                 fail=lambda ctx, jid, p, reason: _outcome(ctx, jid, "failed:" + reason), lifecycle_group="image"))


def enqueue(client, text: str = "hello") -> int:
    ctx = client.app.state.ctx
    with ctx.session() as db:
        return queue.enqueue(db, ctx, KIND, {"text": text}).id


def outcome(client, job_id: int) -> str | None:
    with client.app.state.ctx.session() as db:
        row = db.get(KeyValue, f"echo:{job_id}")
        return None if row is None else row.value


def job(client, job_id: int) -> dict[str, Any]:
    return client.get(f"/_lynkflow/jobs/{job_id}").json()


def test_manual_lifecycle_holds_the_outcome_until_completed(make_client):
    client = make_client(inproc_workers=1)
    assert client.put("/_lynkflow/lifecycles/image", json={"mode": "manual"}).status_code == 200
    job_id = enqueue(client)
    held = wait_for(lambda: (j := job(client, job_id))["state"] == "held" and j)
    assert held["progress"] == 100.0 and held["attempts"] == 1 and held["result"]["path"].endswith(".txt")
    assert (client.app.state.ctx.storage.root / held["result"]["path"]).read_text() == "hello"  # work done
    assert outcome(client, job_id) is None  # ...but not visible
    assert [j["id"] for j in client.get("/_lynkflow/jobs", params={"state": "held"}).json()["jobs"]] == [job_id]
    done = client.post(f"/_lynkflow/jobs/{job_id}/complete")
    assert done.status_code == 200 and done.json()["state"] == "done"
    assert outcome(client, job_id) == "visible:" + held["result"]["path"]
    again = client.post(f"/_lynkflow/jobs/{job_id}/complete")
    assert again.status_code == 409 and "not held" in again.json()["error"]


def test_manual_job_can_be_failed_with_a_reason(make_client):
    client = make_client(inproc_workers=1)
    client.put("/_lynkflow/lifecycles", json={"*": {"mode": "manual"}})
    job_id = enqueue(client)
    wait_for(lambda: job(client, job_id)["state"] == "held")
    failed = client.post(f"/_lynkflow/jobs/{job_id}/fail", json={"error": "transcoder on fire"}).json()
    assert failed["state"] == "failed" and failed["lastError"] == "transcoder on fire"
    assert outcome(client, job_id) == "failed:transcoder on fire"


def test_delay_lifecycle_follows_the_lynkflow_clock(make_client):
    client = make_client(inproc_workers=1, housekeeping_interval=0.02)
    client.post("/_lynkflow/clock/freeze")
    now = client.get("/_lynkflow/clock").json()["nowMs"]
    client.put("/_lynkflow/lifecycles/image", json={"mode": "delay", "seconds": 30})
    job_id = enqueue(client)
    held = wait_for(lambda: (j := job(client, job_id))["state"] == "held" and j)
    assert held["releaseAt"] == now + 30_000
    client.post("/_lynkflow/clock/advance", json={"seconds": 29})
    wait_housekeeping(client.app.state.ctx.workers)  # still held: the clock has not reached releaseAt
    assert job(client, job_id)["state"] == "held" and outcome(client, job_id) is None
    client.post("/_lynkflow/clock/advance", json={"seconds": 1})
    wait_for(lambda: job(client, job_id)["state"] == "done", timeout=10)
    assert outcome(client, job_id).startswith("visible:")


def test_real_lifecycle_is_visible_when_done(make_client):
    client = make_client(inproc_workers=1)
    job_id = enqueue(client)
    wait_for(lambda: job(client, job_id)["state"] == "done")
    assert outcome(client, job_id).startswith("visible:")


def test_cancel_a_queued_job_makes_the_failure_visible(client):
    job_id = enqueue(client)  # no workers: stays queued
    cancelled = client.post(f"/_lynkflow/jobs/{job_id}/cancel").json()
    assert cancelled["state"] == "cancelled"
    assert outcome(client, job_id) == "failed:cancelled"
    assert client.post("/_lynkflow/jobs/99999/cancel").status_code == 404


def test_jobs_list_filters_and_pages(client):
    ids = [enqueue(client, str(i)) for i in range(5)]
    client.post(f"/_lynkflow/jobs/{ids[0]}/cancel")
    page = client.get("/_lynkflow/jobs", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5 and [j["id"] for j in page["jobs"]] == [ids[3], ids[2]]  # newest first
    queued = client.get("/_lynkflow/jobs", params={"state": "queued", "kind": KIND}).json()
    assert queued["total"] == 4
    assert client.get("/_lynkflow/jobs", params={"kind": "gif"}).json()["total"] == 0
    assert client.get("/_lynkflow/jobs", params={"state": "sleeping"}).status_code == 400
    assert client.get("/_lynkflow/jobs/424242").status_code == 404
    assert client.post("/_lynkflow/jobs/424242/complete").status_code == 404
    one = job(client, ids[1])
    assert {"id", "kind", "state", "progress", "attempts", "lastError", "payload"} <= set(one)


def test_lifecycles_read_replace_and_validate(client):
    assert client.get("/_lynkflow/lifecycles").json()["lifecycles"]["gif"] == {"mode": "real", "seconds": 0.0}
    body = client.put("/_lynkflow/lifecycles", json={"gif": {"mode": "manual"},
                                                     "*": {"mode": "delay", "seconds": 2}}).json()
    assert body["lifecycles"]["gif"]["mode"] == "manual"
    assert body["lifecycles"]["video"] == {"mode": "delay", "seconds": 2.0}  # from "*"
    assert body["lifecycles"]["*"] == {"mode": "delay", "seconds": 2.0}
    body = client.put("/_lynkflow/lifecycles", json={"ingest": {"mode": "delay", "seconds": 1}}).json()
    assert body["lifecycles"]["gif"]["mode"] == "real" and "*" not in body["lifecycles"]


@pytest.mark.parametrize("path, body, words", [
    ("/_lynkflow/lifecycles/sorting", {"mode": "manual"}, "unknown lifecycle group"),
    ("/_lynkflow/lifecycles/gif", {"mode": "slow"}, "mode must be real, delay or manual"),
    ("/_lynkflow/lifecycles/gif", {"mode": "delay"}, "needs seconds > 0"),
    ("/_lynkflow/lifecycles/gif", {"mode": "delay", "seconds": -1}, "must not be negative"),
    ("/_lynkflow/lifecycles/gif", {"mode": "real", "speed": 2}, "unknown lifecycle field"),
    ("/_lynkflow/lifecycles", {"gif": {"mode": "manual"}, "bogus": {"mode": "real"}}, "unknown lifecycle group"),
])
def test_bad_lifecycles_are_refused_and_change_nothing(client, path, body, words):
    resp = client.put(path, json=body)
    assert resp.status_code == 400 and words in resp.json()["error"]
    assert client.get("/_lynkflow/lifecycles").json()["lifecycles"]["gif"]["mode"] == "real"
