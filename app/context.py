"""The per-process service context: settings, database, storage, clock and shared services.

One `AppContext` is built by `create_app` (and by the CLI commands that need a database) and
handed to the faces, the control plane and the workers, so nothing reaches for globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lynkflow.clock import CLOCK_DOC, Clock
from lynkflow.config import Settings
from lynkflow.db.engine import make_engine, make_sessionmaker, session_scope
from lynkflow.shared import SharedState
from lynkflow.storage.paths import Storage


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
    # Services other modules attach at start-up (journal, faults, workers, caches...).
    services: dict[str, Any] = field(default_factory=dict)

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


def build_context(settings: Settings) -> AppContext:
    storage = Storage(settings.resolved_data_dir)
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
