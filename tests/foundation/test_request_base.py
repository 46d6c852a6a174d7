"""`context.request_base` is `str(request.base_url)`, remembered by what Starlette makes it of."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from lynkflow import context


def _scope(**kw: Any) -> dict[str, Any]:
    scope = {"type": "http", "method": "GET", "path": "/api2/asset/get", "query_string": b"a=1", "root_path": "",
             "scheme": "http", "headers": [(b"host", b"example.test:8080")], "server": ("127.0.0.1", 8080)}
    scope.update(kw)
    return scope


SCOPES = [
    _scope(),
    _scope(headers=[(b"host", b"other.test")]),
    _scope(headers=[]),  # no Host header: the server address
    _scope(headers=[], server=("::1", 8080)),
    _scope(headers=[], server=["10.0.0.1", 80]),  # a server that gives a list
    _scope(headers=[], scheme="https", server=("10.0.0.1", 443)),
    _scope(headers=[], server=None),
    _scope(root_path="/behind/proxy"),
    _scope(root_path="/x", app_root_path="/app"),
    _scope(headers=[(b"host", b"bad host:99999")]),
    _scope(scheme="https"),
]


@pytest.mark.parametrize("rounds", [1, 2])  # the second round is answered from what the first remembered
def test_request_base_is_starlettes_base_url(rounds: int) -> None:
    context._BASES.clear()
    for _ in range(rounds):
        for scope in SCOPES:
            assert context.request_base(Request(scope)) == str(Request(scope).base_url), scope


def test_request_base_memory_is_bounded(monkeypatch) -> None:
    context._BASES.clear()
    monkeypatch.setattr(context, "_MAX_BASES", 3)
    for n in range(10):
        scope = _scope(headers=[(b"host", f"h{n}.test".encode())])
        assert context.request_base(Request(scope)) == f"http://h{n}.test/"
        assert len(context._BASES) <= 3
