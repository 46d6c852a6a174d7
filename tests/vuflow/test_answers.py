"""VIS list answers remembered while nothing they are made of changed (kept_answers.py): a list asked
again is the same bytes without a read, and any change — through the API, straight into the database,
or while the list is being read — is in the next answer (tests/vuflow/test_vis_version.py: every
table, reset, snapshot restore)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from lynkflow.db.models import VisApiKey, VisAsset
from lynkflow.domain import vis_assets, vis_event_queries, vis_events
from tests.vuflow.helpers import make_vuflow
from tests.vuflow.test_hot_reads import _asset

LISTS = ("/api/asset/", "/api/asset/?States=COMPLETED", "/api/event/", "/api/event/?pageSize=1&order=ASC",
         "/api/event/deleted/", "/api/event/reference/?refId=r")


def _answer(resp: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return resp.status_code, sorted(resp.headers.items()), resp.content


def _seeded(client: Any, key: str) -> tuple[str, str]:
    ctx = client.app.state.ctx
    flow = make_vuflow(ctx, key, "{lynkflow}/storage/vis")
    with ctx.session() as db:
        event_id = vis_events.create_event(db, ctx, key, title="t", ref_id="r", vuflow_id=flow).id
    return event_id, _asset(ctx, key, event_id, "a.gif")


def _counting_reads(monkeypatch: Any) -> list[str]:
    """The list reads made from now on."""
    reads: list[str] = []

    def counted(real: Callable[..., Any]) -> Callable[..., Any]:
        def read(*args: Any, **kwargs: Any) -> Any:
            reads.append(real.__name__)
            return real(*args, **kwargs)
        return read

    for module, name in ((vis_assets, "list_assets"), (vis_event_queries, "find_events")):
        monkeypatch.setattr(module, name, counted(getattr(module, name)))
    return reads


def test_a_list_asked_again_is_the_same_answer_and_reads_nothing(client, vis_headers, monkeypatch) -> None:
    _seeded(client, vis_headers["API-KEY"])
    reads = _counting_reads(monkeypatch)
    for path in LISTS:
        first = client.get(path, headers={**vis_headers, "X-Transaction-ID": "t-1"})
        assert first.status_code == 200 and first.headers["X-Transaction-ID"] == "t-1"
        read = len(reads)
        again = client.get(path, headers={**vis_headers, "X-Transaction-ID": "t-1"})
        assert _answer(again) == _answer(first), path
        assert len(reads) == read, path
        other = client.get(path, headers={**vis_headers, "X-Transaction-ID": "t-2"})  # echoed, not remembered
        assert other.headers["X-Transaction-ID"] == "t-2" and other.content == first.content


def test_every_commit_is_in_the_next_list(client, vis_headers) -> None:
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    event_id, asset_id = _seeded(client, key)

    def names() -> list[str]:
        client.get("/api/asset/", headers=vis_headers)  # asked twice: the second may be remembered
        return [a["name"] for a in client.get("/api/asset/", headers=vis_headers).json()]

    assert names() == ["a.gif"]
    assert client.put(f"/api/asset/{asset_id}/?Name=renamed", headers=vis_headers).status_code == 200
    assert names() == ["renamed"]
    with ctx.session() as db:  # straight into the database, as a worker or another process writes
        db.execute(sa.update(VisAsset).where(VisAsset.id == asset_id).values(name="by a worker"))
    assert names() == ["by a worker"]
    assert client.delete(f"/api/event/{event_id}", headers=vis_headers).status_code == 200
    assert names() == []
    deleted = client.get("/api/event/deleted/", headers=vis_headers).json()
    assert [e["id"] for e in deleted["results"]] == [event_id]


def test_a_commit_made_while_a_list_is_read_is_in_the_next_list(client, vis_headers, monkeypatch) -> None:
    """The answer is kept under the VIS version taken before the read: a commit landing after the
    page was read (but before the answer is kept) must not leave that answer standing."""
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    _, asset_id = _seeded(client, key)
    real = vis_assets.list_assets
    pending = ["renamed meanwhile"]

    def read_then_commit(*args: Any, **kwargs: Any) -> Any:
        rows = real(*args, **kwargs)
        if pending:
            with ctx.session() as db:
                db.execute(sa.update(VisAsset).where(VisAsset.id == asset_id).values(name=pending.pop()))
        return rows

    monkeypatch.setattr(vis_assets, "list_assets", read_then_commit)
    assert [a["name"] for a in client.get("/api/asset/", headers=vis_headers).json()] == ["a.gif"]
    assert [a["name"] for a in client.get("/api/asset/", headers=vis_headers).json()] == ["renamed meanwhile"]


def test_each_key_host_and_query_has_its_own_answer(client, vis_headers) -> None:
    ctx = client.app.state.ctx
    _seeded(client, vis_headers["API-KEY"])
    with ctx.session() as db:
        db.add(VisApiKey(key="another-key", created=0))

    def urls(headers: dict[str, str], path: str = "/api/asset/") -> list[str]:
        return [a["url"] for a in client.get(path, headers=headers).json()]

    mine = urls(vis_headers)
    assert len(mine) == 1 and mine[0].startswith("http://testserver/storage/vis/")
    assert urls(vis_headers) == mine
    assert urls({"API-KEY": "another-key"}) == []
    assert urls({**vis_headers, "Host": "elsewhere.test"})[0].startswith("http://elsewhere.test/storage/vis/")
    assert urls(vis_headers, "/api/asset/?States=FAILED") == []


def test_requests_for_a_list_being_read_share_that_read(client, vis_headers, monkeypatch) -> None:
    """Requests that arrive while their list is read under the same VIS version wait for that read
    instead of making their own."""
    _seeded(client, vis_headers["API-KEY"])
    client.get("/api/asset/", headers=vis_headers)
    reads = _counting_reads(monkeypatch)
    counted = vis_assets.list_assets

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # in the thread pool: the other requests arrive meanwhile
        return counted(*args, **kwargs)

    monkeypatch.setattr(vis_assets, "list_assets", slow)
    with client.app.state.ctx.session() as db:  # a commit: the kept answer is gone, the next request reads
        db.execute(sa.update(VisAsset).values(name="shared"))
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: client.get("/api/asset/", headers=vis_headers), range(6)))
    assert {(a.status_code, a.content) for a in answers} == {(200, answers[0].content)}
    assert [a["name"] for a in answers[0].json()] == ["shared"]
    assert len(reads) == 1
