"""The request journal through HTTP: what it records, queries, counting, clearing, waiting, the cap."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest
from sqlalchemy import event, text

from lynkflow.control.journal import Journal, get_journal
from lynkflow.testing.signing import Signer, encode_msg, sign


@pytest.fixture
def signer(client):
    s = client.app.state.ctx.settings
    return Signer(s.uplynk_owner, s.uplynk_api_key)


def test_uplynk_entry_has_decoded_params_and_signature_verdict(client, signer):
    s = client.app.state.ctx.settings
    client.post("/api2/asset/list", data=signer({"search": "bars", "limit": 5}))
    msg = encode_msg({"search": "x"}, s.uplynk_owner)
    client.get("/api2/asset/list", params={"msg": msg, "sig": sign(msg, "not-the-key")})
    good, bad = client.get("/_lynkflow/journal").json()["entries"]
    assert good["api"] == "uplynk" and good["method"] == "POST" and good["route"] == "/api2/asset/list"
    assert good["status"] == 200 and good["signature"] == "valid" and good["durationMs"] > 0
    assert good["params"]["search"] == "bars" and good["params"]["limit"] == 5
    assert good["params"]["_owner"] == s.uplynk_owner
    assert bad["method"] == "GET" and bad["signature"] == "bad-signature" and bad["params"]["search"] == "x"
    assert bad["id"] > good["id"] and bad["time"] >= good["time"]


def test_vis_entry_has_the_json_body(client, vis_headers):
    body = {"name": "journaled flow", "configurationJson": "{}"}
    resp = client.post("/api/vuflow/", json=body, headers=vis_headers)
    client.get("/api/event/")  # no API key: 401
    entries = client.get("/_lynkflow/journal", params={"api": "vuflow"}).json()["entries"]
    assert entries[0]["body"] == body and entries[0]["status"] == resp.status_code
    assert entries[0]["signature"] is None and entries[0]["params"] is None
    assert entries[1]["status"] == 401 and entries[1]["body"] is None


def test_vis_json_body_is_parsed_once(client, vis_headers, monkeypatch):
    """The journal records the route's own parse of a VIS JSON body rather than parsing it again."""
    from lynkflow import jsondoc

    calls = []
    real = jsondoc.loads

    def counting(raw, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        calls.append(raw)
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(jsondoc, "loads", counting)
    body = {"name": "parsed once", "configurationJson": "{}"}
    assert client.post("/api/vuflow/", json=body, headers=vis_headers).status_code == 200
    assert len([c for c in calls if isinstance(c, bytes)]) == 1  # (the vuflow's configurationJson is a str)
    # A body the route refuses to parse is still recorded, by the journal's own parse.
    assert client.post("/api/vuflow/", content=b'{"name": [1,', headers={**vis_headers, "content-type":
                       "application/json"}).status_code == 400
    entries = client.get("/_lynkflow/journal", params={"api": "vuflow"}).json()["entries"]
    assert entries[0]["body"] == body
    assert entries[1]["body"] == '{"name": [1,'


def test_queries_filter_by_api_route_method_status_and_time(client, signer, vis_headers):
    client.post("/_lynkflow/clock/freeze", json={"at": 1_000_000})
    client.get("/api/event/", headers=vis_headers)
    client.post("/_lynkflow/clock/advance", json={"ms": 1000})
    client.get("/event/")  # 401
    client.post("/_lynkflow/clock/advance", json={"ms": 1_000_000})  # later calls fall outside the window
    client.post("/_lynkflow/clock/resume")
    client.post("/api2/asset/list", data=signer({}))
    client.get("/api2/nope", params={"msg": "x", "sig": "y"})

    def count(**params):
        return client.get("/_lynkflow/journal/count", params=params).json()["count"]

    assert count() == 4
    assert count(api="vuflow") == 2 and count(api="uplynk") == 2
    assert count(route="/event/") == 2  # a VIS route without /api matches both mounts
    assert count(route="/api2/*") == 2 and count(route="/api2/asset/list") == 1
    assert count(method="get") == 3 and count(method="POST") == 1
    assert count(status="401") == 1 and count(status="2xx") == 3 and count(status="5xx") == 0
    assert count(until=1_000_500) == 1 and count(since=1_000_500, until=1_001_000) == 1
    newest = client.get("/_lynkflow/journal", params={"limit": 1}).json()["entries"]
    assert [e["route"] for e in newest] == ["/api2/nope"]
    bad = client.get("/_lynkflow/journal", params={"status": "teapot"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]
    assert client.get("/_lynkflow/journal", params={"api": "s3"}).status_code == 400


def test_clear_empties_the_journal_and_control_calls_are_not_recorded(client, vis_headers):
    client.get("/api/event/", headers=vis_headers)
    client.get("/_lynkflow/clock")
    assert client.get("/_lynkflow/journal/count").json()["count"] == 1
    assert client.delete("/_lynkflow/journal").json() == {"count": 0}
    assert client.get("/_lynkflow/journal").json()["entries"] == []


def test_wait_returns_once_the_requests_arrive(client, vis_headers):
    def later():
        time.sleep(0.3)
        for _ in range(3):
            client.get("/api/event/", headers=vis_headers)

    worker = threading.Thread(target=later)
    t = time.perf_counter()
    worker.start()
    resp = client.post("/_lynkflow/journal/wait", json={"count": 3, "route": "/api/event/", "timeout": 10})
    worker.join()
    assert resp.status_code == 200, resp.text
    assert resp.json()["count"] == 3 and len(resp.json()["entries"]) == 3
    assert 0.3 <= time.perf_counter() - t < 5


def test_wait_times_out_with_408_and_the_count_so_far(client, vis_headers):
    client.get("/api/event/", headers=vis_headers)
    resp = client.post("/_lynkflow/journal/wait", json={"count": 2, "api": "vuflow", "timeout": 0.2})
    assert resp.status_code == 408
    assert resp.json()["count"] == 1 and "wanted 2" in resp.json()["error"]
    assert client.post("/_lynkflow/journal/wait", json={"count": 0}).status_code == 400
    assert client.post("/_lynkflow/journal/wait", json={"count": 1, "colour": "red"}).status_code == 400


def test_journal_stays_capped_under_10000_requests(make_client):
    client = make_client(journal_size=250)
    app = client.app
    rounds: list[float] = []

    async def hammer() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lynkflow") as http:
            for _ in range(10):
                t = time.perf_counter()
                for _ in range(10):
                    await asyncio.gather(*(http.get("/api/event/") for _ in range(100)))  # VIS 401, cheap
                rounds.append(time.perf_counter() - t)

    asyncio.run(hammer())
    body = client.get("/_lynkflow/journal", params={"limit": 100000}).json()
    assert body["total"] == 10_000 and body["size"] == 250
    entries = body["entries"]
    assert len(entries) == 250
    assert [e["id"] for e in entries] == list(range(9751, 10_001))  # the newest, in order
    assert all(e["status"] == 401 for e in entries)
    # Recording stays O(1): the last 1,000 requests cost about what the first 1,000 did (an absolute
    # bound would measure the machine, not the journal).
    # The best of the last rounds against the worst of the first: one slow round on a busy machine is noise.
    assert min(rounds[-3:]) < 3 * max(rounds[:3]), rounds


def test_journal_flush_commits_asynchronously_on_postgres_and_requests_do_not(ctx):
    """The journal's flush (every 20 ms under load) does not wait for a WAL flush; a request's own
    write transaction still does. Read at each COMMIT: the setting in effect for it."""
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    at_commit: list[str] = []

    def record(conn) -> None:  # noqa: ANN001 - SQLAlchemy Connection, just before its COMMIT
        at_commit.append(conn.connection.driver_connection.execute("SHOW synchronous_commit").fetchone()[0])

    journal = get_journal(ctx)
    event.listen(ctx.engine, "commit", record)
    try:
        journal.record({"time": 1, "api": "uplynk", "method": "POST", "status": 200, "route": "/api2/x"})
        journal.flush()
        flushed, at_commit[:] = list(at_commit), []
        with ctx.session() as db:
            db.execute(text("UPDATE control_state SET doc = doc WHERE name = 'none'"))
    finally:
        event.remove(ctx.engine, "commit", record)
    assert flushed == ["off"] and at_commit == ["on"]


def _entry(i: int) -> dict:
    return {"time": i, "api": "vis", "method": "GET", "status": 200, "route": "/api/event/"}


def _journaled(ctx) -> list[int]:  # noqa: ANN001 - AppContext
    with ctx.engine.connect() as conn:
        return [n for (n,) in conn.execute(text("SELECT n FROM control_journal ORDER BY n"))]


def test_processes_flushing_in_turn_keep_exactly_the_newest_window(ctx):
    """Two processes' flushes in turn (two journals on one database), one with a smaller window: after
    each flush the table holds exactly the newest entries of the window of the process that flushed."""
    one, two = Journal(ctx.shared, 10), Journal(ctx.shared, 4)
    for turn in range(30):
        journal, batch = (one, 7) if turn % 2 else (two, 3)
        for i in range(batch):
            journal.record(_entry(i))
        journal.flush()
        rows = _journaled(ctx)
        assert rows == list(range(max(1, rows[-1] - journal.size + 1), rows[-1] + 1)), (turn, rows)


def test_a_flushed_batch_keeps_every_entry_byte_for_byte_in_order(ctx):
    """One flush of many entries (on PostgreSQL one statement of arrays): each row holds its own
    entry's columns and exactly the JSON it was recorded as, numbered in recording order — with the
    characters an array literal or JSON escapes (quotes, backslashes, braces, commas, non-ASCII)."""
    journal = Journal(ctx.shared, 100)
    awkward = ['a "quoted" word', "back\\slash", "{braces, commas}", "NULL", "", "é ✓ 🙂", "tab\tnew\nline"]
    recorded = [{"time": 1000 + i, "api": ("uplynk", "vuflow")[i % 2], "method": ("GET", "POST")[i % 2],
                 "status": 200 + i, "route": f"/r/{i}", "query": text_, "params": {"k": text_}}
                for i, text_ in enumerate(awkward * 4)]
    for entry in recorded:
        journal.record(dict(entry))
    journal.flush()
    with ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT n, time_ms, api, method, status, doc FROM control_journal ORDER BY n")).all()
    assert [r[0] for r in rows] == list(range(1, len(recorded) + 1))
    assert [tuple(r[1:5]) for r in rows] == [(e["time"], e["api"], e["method"], e["status"]) for e in recorded]
    assert [r[5] for r in rows] == [json.dumps(e, separators=(",", ":"), default=str) for e in recorded]
    assert [{k: v for k, v in e.items() if k != "id"} for e in journal.entries()] == recorded
