"""An api2 operation that raises is told apart from a refusal of bad input.

Both answer HTTP 200 `{"error": 1, "msg": ...}` (the api2 shape clients parse), so the random-input
tests could not see an operation that fails on every call. The catch-all's answer carries
`X-Lynkflow-Internal-Error: 1` and its journal entry `internalError: true`; a refusal carries
neither.
"""

from __future__ import annotations

import pytest

from lynkflow.testing.signing import Signer
from lynkflow.uplynk.errors import INTERNAL_ERROR_HEADER
from tests.conftest import UplynkCaller


def _broken(*_args, **_kwargs):
    raise RuntimeError("a bug in asset/get")


def _signed_post(client, path: str, **params) -> object:
    s = client.app.state.ctx.settings
    return client.post(path, data=Signer(s.uplynk_owner, s.uplynk_api_key)(params))


def test_an_operation_that_raises_is_marked_as_internal_error(client, monkeypatch) -> None:
    monkeypatch.setattr("lynkflow.uplynk.assets.as_str", _broken)
    r = _signed_post(client, "/api2/asset/get", id="a" * 32)
    assert r.status_code == 200
    assert r.json() == {"error": 1, "msg": "internal error in asset/get; see the lynkflow log"}
    assert r.headers[INTERNAL_ERROR_HEADER] == "1"

    entries = client.get("/_lynkflow/journal", params={"route": "/api2/asset/get"}).json()["entries"]
    assert [e["internalError"] for e in entries] == [True]
    assert entries[0]["signature"] == "valid"
    marked = client.get("/_lynkflow/journal/count", params={"internalError": "true"}).json()
    assert marked == {"count": 1}

    # The signed caller every api2 test uses refuses such an answer, so no test can pass through one.
    s = client.app.state.ctx.settings
    with pytest.raises(AssertionError, match="internal error"):
        UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)("/api2/asset/get", id="b" * 32)


def test_a_refusal_is_not_an_internal_error(client) -> None:
    r = _signed_post(client, "/api2/asset/get")
    assert r.json()["error"] == 1 and "give one of id" in r.json()["msg"]
    assert INTERNAL_ERROR_HEADER not in r.headers
    entry = client.get("/_lynkflow/journal", params={"route": "/api2/asset/get"}).json()["entries"][-1]
    assert entry["internalError"] is False
    assert client.get("/_lynkflow/journal/count", params={"internalError": "true"}).json() == {"count": 0}
    assert client.get("/_lynkflow/journal/count", params={"internalError": "false"}).json() == {"count": 1}
