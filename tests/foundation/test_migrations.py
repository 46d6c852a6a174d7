"""Migrations run up and down on the configured backend (SQLite, or PostgreSQL in its pass)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from lynkflow.config import normalise_database_url
from lynkflow.db import migrate
from lynkflow.db.engine import make_engine
from lynkflow.db.migrate import current_revision, downgrade, head_revision, migrate_to_head, upgrade
from lynkflow.db.models import Base
from tests.conftest import BACKEND, PG_URL


@contextmanager
def _empty_database(tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a new, empty database on the configured backend, dropped afterwards."""
    if BACKEND != "postgres":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    db_name = f"lynkflow_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    base = normalise_database_url(PG_URL).rsplit("/", 1)[0]
    try:
        yield f"{base}/{db_name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_db_url(tmp_path, db_url):  # depends on db_url so it also runs in the PostgreSQL pass
    with _empty_database(tmp_path, "mig") as url:
        yield url


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


def _schema(engine: Engine) -> dict[str, Any]:
    """Everything the database holds, as reflection sees it: tables with their columns (types,
    server defaults, nullability, order), keys, indexes, unique and check constraints; every other
    object (views, sequences, triggers, virtual tables); and every row."""
    insp = inspect(engine)
    tables = sorted(insp.get_table_names())
    found: dict[str, Any] = {"views": sorted(insp.get_view_names())}
    for t in tables:
        found[t] = {
            "columns": [{k: str(v) for k, v in c.items()} for c in insp.get_columns(t)],
            "pk": insp.get_pk_constraint(t),
            "fks": sorted(map(repr, insp.get_foreign_keys(t))),
            "indexes": sorted(map(repr, insp.get_indexes(t))),
            "uniques": sorted(map(repr, insp.get_unique_constraints(t))),
            "checks": sorted(map(repr, insp.get_check_constraints(t))),
        }
    with engine.connect() as conn:
        for t in tables:
            found[t]["rows"] = sorted(map(repr, conn.exec_driver_sql(f'SELECT * FROM "{t}"')))
        if BACKEND == "postgres":
            found["sequences"] = sorted(insp.get_sequence_names())
            found["triggers"] = sorted(r[0] for r in conn.exec_driver_sql(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
            found["extensions"] = sorted(r[0] for r in conn.exec_driver_sql("SELECT extname FROM pg_extension"))
            found["functions"] = sorted(r[0] for r in conn.exec_driver_sql(
                "SELECT proname FROM pg_proc JOIN pg_namespace n ON n.oid = pronamespace "
                "WHERE nspname = current_schema()"))
        else:
            found["objects"] = sorted(tuple(r) for r in conn.exec_driver_sql(
                "SELECT type, name, tbl_name FROM sqlite_master"))
    return found


def test_new_database_created_at_head_equals_every_migration_run(tmp_path: Path, db_url: str) -> None:
    """Start-up creates an empty database's schema from the models and stamps it (no Alembic run):
    the result must be exactly what running every migration makes."""
    with _empty_database(tmp_path, "viamig") as mig_url, _empty_database(tmp_path, "direct") as direct_url:
        migrated, direct = make_engine(mig_url), make_engine(direct_url)
        try:
            upgrade(migrated)
            migrate_to_head(direct)
            assert current_revision(direct) == head_revision()
            assert _schema(direct) == _schema(migrated)
        finally:
            migrated.dispose()
            direct.dispose()


def test_migrate_to_head_runs_alembic_on_a_database_that_has_tables(empty_db_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a database with no tables at all is created from the models: one at an older revision
    is migrated, keeping its rows."""
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO lynkflow_kv (key, value) VALUES ('kept', 'yes')"))
        created = []
        monkeypatch.setattr(migrate, "create_at_head", lambda conn: created.append(conn))
        migrate_to_head(engine)
        assert created == []
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT value FROM lynkflow_kv WHERE key = 'kept'")).scalar() == "yes"
    finally:
        engine.dispose()
