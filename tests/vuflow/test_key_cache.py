"""The VIS key check's per-process cache: a known key costs no statement, and a removed key stops
working on the next request in every process (a new key generation) or, removed straight in the
database, within the cache lifetime; a key added a moment ago works at once."""

from __future__ import annotations

import time

from sqlalchemy import delete

from lynkflow.db.models import VisApiKey
from lynkflow.uplynk import signing_keys
from tests.vuflow.helpers import assert_vis_error, statements_during

NEW_KEY = "77777777-1111-4222-8333-444444444444"


def _key_reads(ctx, call) -> int:  # noqa: ANN001
    """Statements on vis_api_keys while `call()` runs."""
    return statements_during(ctx, call, "vis_api_keys")[0]


def _set_key(ctx, key: str, *, present: bool) -> None:  # noqa: ANN001
    with ctx.session() as db:
        if present:
            db.add(VisApiKey(key=key, name="test", created=0))
        else:
            db.execute(delete(VisApiKey).where(VisApiKey.key == key))


def test_a_known_key_is_read_once_then_served_from_the_cache(client, vis_headers, monkeypatch) -> None:
    monkeypatch.setattr(signing_keys, "KEY_CACHE_SECONDS", 60)  # however slow the machine, the second call is cached
    ctx = client.app.state.ctx
    assert client.get("/api/event/", headers=vis_headers).status_code == 200
    for path in ("/api/event/", "/api/asset/", "/api/vuflow/"):
        assert _key_reads(ctx, lambda p=path: client.get(p, headers=vis_headers).raise_for_status()) == 0, path
    # A write route checks the key the same way.
    created = client.post("/api/vuflow/", json={"name": "cached", "configurationJson": "{}"}, headers=vis_headers)
    assert created.status_code == 200, created.text


def test_an_unknown_key_is_never_cached_so_a_new_key_works_at_once(client, monkeypatch) -> None:
    monkeypatch.setattr(signing_keys, "KEY_CACHE_SECONDS", 60)
    ctx = client.app.state.ctx
    headers = {"API-KEY": NEW_KEY}
    for _ in range(2):  # refused each time: an unknown key is not remembered as known either
        assert_vis_error(client.get("/api/event/", headers=headers), 401, "InvalidApiKey")
    _set_key(ctx, NEW_KEY, present=True)
    assert client.get("/api/event/", headers=headers).status_code == 200


def test_a_deleted_tenants_key_is_refused_at_once_by_every_process(make_client, monkeypatch) -> None:
    monkeypatch.setattr(signing_keys, "KEY_CACHE_SECONDS", 60)  # only the published key generation can drop it
    a, b = make_client(), make_client()  # two apps on one database: two processes' caches
    doc = a.post("/_lynkflow/tenants", json={"name": "going"}).json()
    headers = {"API-KEY": doc["vis"]["apiKey"]}
    for c in (a, b):
        assert c.get("/api/vuflow/", headers=headers).status_code == 200  # now cached in both
    assert a.delete(f"/_lynkflow/tenants/{doc['id']}").status_code == 200
    for c in (b, a):
        assert_vis_error(c.get("/api/vuflow/", headers=headers), 401, "InvalidApiKey")
        assert_vis_error(c.post("/api/vuflow/", json={"name": "x"}, headers=headers), 401, "InvalidApiKey")


def test_a_key_removed_in_the_database_stops_within_the_cache_lifetime(client, monkeypatch) -> None:
    monkeypatch.setattr(signing_keys, "KEY_CACHE_SECONDS", 0.2)
    ctx = client.app.state.ctx
    headers = {"API-KEY": NEW_KEY}
    _set_key(ctx, NEW_KEY, present=True)
    assert client.get("/api/event/", headers=headers).status_code == 200
    _set_key(ctx, NEW_KEY, present=False)  # behind lynkflow's back: no new key generation
    time.sleep(0.3)
    assert_vis_error(client.get("/api/event/", headers=headers), 401, "InvalidApiKey")
