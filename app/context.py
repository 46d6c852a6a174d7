"""The per-process service context: settings, database, storage, clock and shared services.

One `AppContext` is built by `create_app` (and by the CLI commands that need a database) and
handed to the faces, the control plane and the workers, so nothing reaches for globals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lynkflow.clock import CLOCK_DOC, Clock
from lynkflow.config import Settings
from lynkflow.db.engine import make_engine, make_sessionmaker, session_scope
from lynkflow.shared import SharedState
from lynkflow.storage import open_storage
from lynkflow.storage.paths import Storage

if TYPE_CHECKING:
    from lynkflow.jobs.workers import WorkerPool

T = TypeVar("T")


class Clearable(Protocol):
    def clear(self) -> None: ...


C = TypeVar("C", bound=Clearable)


class Services:
    """Per-process helpers made on first use, one per class (the journal writer, the fault set...).

    Keyed by the class itself, so `ctx.services.get(Journal, make)` is typed as a `Journal` and no
    two modules can collide on a string.
    """

    def __init__(self) -> None:
        self._items: dict[type, object] = {}
        self._lock = threading.Lock()

    def get(self, kind: type[T], make: Callable[[], T]) -> T:
        found = self._items.get(kind)
        if found is None:
            with self._lock:
                found = self._items.get(kind)
                if found is None:
                    found = self._items[kind] = make()
        return found  # type: ignore[return-value]

    def peek(self, kind: type[T]) -> T | None:
        """The helper if it was made (None otherwise): for shutdown, which must not make one."""
        return self._items.get(kind)  # type: ignore[return-value]

    def put(self, kind: type[T], value: T) -> None:
        """Replace a helper (a test that wants a seeded one)."""
        with self._lock:
            self._items[kind] = value


class Caches:
    """Per-process caches of what lives in the database (API keys, rendered answers...).

    One per class, made on first use like `Services`; `reset()` empties every one of them, so a
    reset of any scope cannot forget a cache that a module added later.
    """

    def __init__(self) -> None:
        self._services = Services()

    def get(self, kind: type[C], make: Callable[[], C]) -> C:
        return self._services.get(kind, make)

    def reset(self) -> None:
        for cache in list(self._services._items.values()):
            cache.clear()  # type: ignore[attr-defined]


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    storage: Storage
    clock: Clock
    # Control-plane state every process shares through the database (clock, lifecycles, faults...).
    shared: SharedState
    # Per-process helpers and caches, typed by class (see Services, Caches).
    services: Services = field(default_factory=Services)
    caches: Caches = field(default_factory=Caches)
    # Set by `serve` and the app's lifespan.
    address: str = ""  # host:port this process serves on (shown in its presence lease)
    on_ready: Callable[[], None] | None = None  # called once serving, seeded, with workers up
    seed_applied: bool = True  # False while the start-up seed is being applied
    workers: WorkerPool | None = None  # the in-process worker pool
    wake_workers: Callable[[], None] | None = None  # wakes this process's idle workers at once

    def session(self):  # noqa: ANN201 - context manager
        """A unit of work that may write (commits on success, rolls back on error)."""
        return session_scope(self.sessions)

    def read_session(self):  # noqa: ANN201 - context manager
        """A read-only unit of work; cheaper on SQLite (no write lock). Never write through it."""
        return session_scope(self.read_sessions)

    def public_base(self, request_base: str | None = None) -> str:
        """Base URL for URLs in answers: LYNKFLOW_PUBLIC_URL, else the request's own host."""
        if self.settings.public_url:
            return self.settings.public_url
        return (request_base or "http://127.0.0.1:8080").rstrip("/")

    def base_for(self, request: Any) -> str:
        """`public_base` for the answer to a Starlette request."""
        if self.settings.public_url:
            return self.settings.public_url
        return self.public_base(request_base(request))


# str(request.base_url) by what it is made of: Starlette builds it (a URL parse and a scope copy,
# ~5 % of a signed asset/get) from these scope members alone, and clients send few distinct ones.
_BASES: dict[tuple[Any, ...], str] = {}
_MAX_BASES = 256  # the Host header is the client's: bounded


def request_base(request: Any) -> str:
    """`str(request.base_url)`, remembered per scheme, Host header, server address and root path."""
    scope = request.scope
    host = None
    for key, value in scope["headers"]:
        if key == b"host":
            host = value
            break
    server = scope.get("server")
    made_of = (scope.get("scheme", "http"), host, tuple(server) if server else None,
               scope.get("app_root_path", scope.get("root_path", "")))
    base = _BASES.get(made_of)
    if base is None:
        if len(_BASES) >= _MAX_BASES:
            _BASES.clear()
        base = _BASES[made_of] = str(request.base_url)
    return base


def build_context(settings: Settings) -> AppContext:
    from lynkflow.media import ffmpeg  # light: no media library is imported

    ffmpeg.use_binary(settings.ffmpeg)
    storage = open_storage(settings)
    storage.ensure()
    engine = make_engine(settings.resolved_database_url)
    shared = SharedState(engine)
    clock = Clock(publish=lambda doc: shared.put(CLOCK_DOC, doc), store=shared.put)

    def apply_clocks(docs: dict[str, Any]) -> None:
        clock.apply(docs.get(CLOCK_DOC))
        clock.apply_tenants(docs)  # tenants' own clocks (lynkflow/tenancy.py)

    shared.on_change(apply_clocks)
    return AppContext(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        read_sessions=make_sessionmaker(engine, read_only=True),
        storage=storage,
        clock=clock,
        shared=shared,
    )
