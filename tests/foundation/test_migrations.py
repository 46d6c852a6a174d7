"""Migrations run up and down on the configured backend (SQLite, or PostgreSQL in its pass)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from lynkflow.config import normalise_database_url
from lynkflow.db.engine import make_engine
from lynkflow.db.migrate import current_revision, downgrade, head_revision, upgrade
from lynkflow.db.models import Base
from tests.conftest import BACKEND, PG_URL


@pytest.fixture
def empty_db_url(tmp_path, db_url):  # depends on db_url so it also runs in the PostgreSQL pass
    if BACKEND != "postgres":
        yield f"sqlite:///{tmp_path / 'mig.db'}"
        return
    name = f"lynkflow_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = normalise_database_url(PG_URL).rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_up_down_up(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        downgrade(engine, "base")
        left = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_schema_matches_the_models(db_url: str) -> None:
    """Autogenerate against the migrated database finds nothing to change."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_schema_head_constant_matches_alembic() -> None:
    from lynkflow.db.migrate import SCHEMA_HEAD

    assert head_revision() == SCHEMA_HEAD
