"""Fixtures for the api2 face: the signed caller (tests/conftest.py `UplynkCaller`) and asset factories."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import UplynkCaller


@pytest.fixture
def api(client) -> UplynkCaller:
    s = client.app.state.ctx.settings
    return UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)


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


def other_owner(client, owner: str = OTHER_OWNER, key: str = "other-key") -> UplynkCaller:
    """A second Uplynk account with one key, and a signed caller for it."""
    from lynkflow.db.models import UplynkApiKey, UplynkOwner

    ctx = client.app.state.ctx
    with ctx.session() as db:
        db.add(UplynkOwner(id=owner, name="other", created=1))
        db.flush()
        db.add(UplynkApiKey(id="cd" * 16, owner_id=owner, secret=key, created=1))
    return UplynkCaller(client, owner, key)
