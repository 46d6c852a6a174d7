"""Shared fixtures: a migrated database per session (SQLite, or PostgreSQL in the second pass),
a fresh data dir and empty tables per test, an app client, signed clients and synthetic clips.

Backends: `LYNKFLOW_TEST_BACKEND=postgres` (set by `make test` for its second pass when
LYNKFLOW_TEST_POSTGRES_URL is given) runs every test that touches a database against PostgreSQL
and deselects the rest, which already ran in the SQLite pass.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from lynkflow.config import Settings, normalise_database_url
from lynkflow.testing.signing import Signer
from lynkflow.uplynk.errors import INTERNAL_ERROR_HEADER

BACKEND = os.environ.get("LYNKFLOW_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("LYNKFLOW_TEST_POSTGRES_URL", "")
REPO = Path(__file__).resolve().parent.parent
SYNTH_CACHE = Path(os.environ.get("LYNKFLOW_SYNTH_CACHE", REPO / ".cache" / "synth"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND != "postgres":
        return
    keep, drop = [], []
    for item in items:
        (keep if "db_url" in getattr(item, "fixturenames", ()) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def postgres_schema_url(schema: str) -> str:
    """The test database's URL with a fresh, empty `schema` first on the search path: for servers
    started as subprocesses, which must not share the suite's `public` schema (or its wipes)."""
    engine = create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _fresh_postgres(url: str) -> str:
    url = normalise_database_url(url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated to head once per session."""
    from lynkflow.db.engine import make_engine
    from lynkflow.db.migrate import upgrade

    if BACKEND == "postgres":
        if not PG_URL:
            pytest.exit("LYNKFLOW_TEST_BACKEND=postgres needs LYNKFLOW_TEST_POSTGRES_URL", returncode=2)
        url = _fresh_postgres(PG_URL)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'lynkflow.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def make_settings(tmp_path: Path, db_url: str) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"data_dir": tmp_path / "data", "database_url": db_url, "inproc_workers": 0}
        values.update(overrides)
        return Settings(**values)

    return factory


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables and a running, unshifted clock (its shared state is wiped too) for every test
    that uses the database."""
    if "db_url" in request.fixturenames:
        from lynkflow.db.engine import make_engine
        from lynkflow.db.wipe import wipe_all

        engine = make_engine(request.getfixturevalue("db_url"))
        wipe_all(engine)
        engine.dispose()
    yield


@pytest.fixture
def ctx(settings: Settings):
    from lynkflow.context import build_context
    from lynkflow.main import prepare

    context = build_context(settings)
    prepare(context)
    yield context
    context.engine.dispose()


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]):
    """Start an app (lifespan included) with settings overrides; closed after the test."""
    from fastapi.testclient import TestClient

    from lynkflow.main import create_app

    opened: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)))
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


class UplynkCaller:
    """Signed api2 calls through a TestClient, as a real client would send them (zlib 9, base64, hex
    HMAC), stamped with the lynkflow clock so tests that move (or freeze) it still sign fresh
    requests; every msg is distinct (lynkflow.testing.signing.Signer), so repeats are not replays.
    An answer marked as lynkflow's own internal error fails the test."""

    def __init__(self, http, owner: str, api_key: str) -> None:
        self.http = http
        self.owner = owner
        self.api_key = api_key
        self.sign = Signer(owner, api_key, now=lambda: http.app.state.ctx.clock.now())

    @property
    def ctx(self):  # noqa: ANN201
        return self.http.app.state.ctx

    def pair(self, params: dict[str, Any], *, owner: str | None = None, key: str | None = None,
             ts: int | None = None, level: int = 9) -> dict[str, str]:
        return self.sign(params, ts, owner=owner, api_key=key, level=level)

    def __call__(self, op: str, method: str = "POST", **params: Any) -> dict:
        """`op` is an api2 operation (`asset/get`) or a whole path (`/api2/asset/get`)."""
        path = op if op.startswith("/") else f"/api2/{op}"
        data = self.pair(params)
        resp = self.http.get(path, params=data) if method == "GET" else self.http.post(path, data=data)
        assert resp.status_code == 200, resp.text
        # An api2 refusal and our own bug share the body shape; only the header tells them apart.
        assert INTERNAL_ERROR_HEADER not in resp.headers, f"internal error: {resp.text}"
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
def uplynk(client) -> UplynkCaller:
    s = client.app.state.ctx.settings
    return UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)


@pytest.fixture
def vis_headers(client) -> dict[str, str]:
    return {"API-KEY": client.app.state.ctx.settings.vuflow_api_key}


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll until predicate() is truthy; returns its value or fails the test with a clear message."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


def wait_housekeeping(pool: Any, passes: int = 2) -> None:
    """Wait until the pool has run `passes` more housekeeping passes (the second one surely began
    after this call). Tests shorten LYNKFLOW_HOUSEKEEPING_INTERVAL so this takes milliseconds."""
    start = pool.housekeeping_passes
    wait_for(lambda: pool.housekeeping_passes >= start + passes, timeout=30, interval=0.01)


@pytest.fixture(scope="session")
def synth_clips() -> dict[str, Path]:
    """The standard synthetic clips (frame number encoded in each picture), cached across runs."""
    from lynkflow.fixtures.synth import STANDARD_CLIPS, make_clip

    SYNTH_CACHE.mkdir(parents=True, exist_ok=True)
    return {name: make_clip(SYNTH_CACHE / name, **params) for name, params in STANDARD_CLIPS.items()}


@pytest.fixture(scope="session")
def short_clip() -> Path:
    """A 2 s, 320x240, 25 fps clip with audio and the frame number in each picture (cached across runs)."""
    from lynkflow.fixtures.synth import make_clip

    SYNTH_CACHE.mkdir(parents=True, exist_ok=True)
    return make_clip(SYNTH_CACHE / "short_320x240_25_2s.mp4", width=320, height=240, fps=25, seconds=2.0)


class LiveServer:
    """An app that a TestClient already started, served by uvicorn on a free port in a thread.

    For what only real HTTP shows: PyAV reading playlists, or when a response leaves the server
    relative to the commit behind it.
    """

    def __init__(self, app: Any) -> None:
        import threading

        import uvicorn

        # The TestClient already ran the lifespan (app.state.ctx); serving must not run it again.
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=10)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
