"""Fixtures for the api2 face: a signed caller that follows the lynkflow clock, and asset factories."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest

from lynkflow.testing.signing import sign


class Api2:
    """Signed calls as the official sample makes them (zlib 9, base64, hex HMAC), timestamped by the
    lynkflow clock so tests that move (or freeze) the clock still sign fresh requests. Each call
    carries a `_nonce` envelope field, so repeats are new messages rather than replays."""

    def __init__(self, http, owner: str, api_key: str) -> None:
        self.http = http
        self.owner = owner
        self.api_key = api_key
        self._n = 0

    @property
    def ctx(self):  # noqa: ANN201
        return self.http.app.state.ctx

    def pair(self, params: dict[str, Any], *, owner: str | None = None, key: str | None = None,
             ts: int | None = None, level: int = 9) -> dict[str, str]:
        self._n += 1
        doc = {**params, "_owner": owner or self.owner,
               "_timestamp": int(self.ctx.clock.now()) if ts is None else ts, "_nonce": self._n}
        text = json.dumps(doc)
        msg = base64.b64encode(zlib.compress(text.encode(), level)).decode()
        return {"msg": msg, "sig": sign(msg, key or self.api_key)}

    def __call__(self, op: str, method: str = "POST", **params: Any) -> dict:
        data = self.pair(params)
        path = f"/api2/{op}"
        resp = self.http.get(path, params=data) if method == "GET" else self.http.post(path, data=data)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def ok(self, op: str, **params: Any) -> dict:
        out = self(op, **params)
        assert out.get("error") == 0 and "msg" not in out, out
        return out

    def err(self, op: str, **params: Any) -> str:
        out = self(op, **params)
        assert out.get("error") == 1, out
        assert isinstance(out.get("msg"), str) and out["msg"], out
        return out["msg"]


@pytest.fixture
def api(client) -> Api2:
    s = client.app.state.ctx.settings
    return Api2(client, s.uplynk_owner, s.uplynk_api_key)


def make_asset(ctx, *, owner: str | None = None, desc: str = "", external_id: str = "", meta: dict | None = None,
               source: str = "file", created: int | None = None, duration: float = 0.0, state: str = "ready"):
    """An asset row through the domain (no media), with chosen fields for list/search tests."""
    from lynkflow.domain import uplynk_assets as dom

    with ctx.session() as db:
        a = dom.create_asset(db, ctx, owner_id=owner or ctx.settings.uplynk_owner, media_id=None,
                             external_id=external_id, desc=desc, meta=meta, source=source)
        a.state = state
        a.duration = duration
        if created is not None:
            a.created = created
            a.lastmod = created
        return a.id


@pytest.fixture
def asset_factory(client):
    ctx = client.app.state.ctx

    def factory(**kw: Any) -> str:
        return make_asset(ctx, **kw)

    return factory


OTHER_OWNER = "ab" * 16


def other_owner(client, owner: str = OTHER_OWNER, key: str = "other-key") -> Api2:
    """A second Uplynk account with one key, and a signed caller for it."""
    from lynkflow.db.models import UplynkApiKey, UplynkOwner

    ctx = client.app.state.ctx
    with ctx.session() as db:
        db.add(UplynkOwner(id=owner, name="other", created=1))
        db.flush()
        db.add(UplynkApiKey(id="cd" * 16, owner_id=owner, secret=key, created=1))
    return Api2(client, owner, key)
