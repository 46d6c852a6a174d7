"""Run the Alembic migrations of the `lynkflow.migrations` package against a configured database.

Start-up checks the stored revision against `SCHEMA_HEAD` with one SQL query and imports
Alembic only when there is something to migrate: Alembic's import alone costs about as much as
the rest of a warm start. A test keeps `SCHEMA_HEAD` equal to Alembic's own head.

A database with no tables at all (a new data dir) gets the schema straight from the models'
metadata, stamped at `SCHEMA_HEAD`, in one transaction: what running every migration makes, for a
quarter of the CPU time (start-up's prepare step, default accounts included: ~180 → ~50 ms) and
without Alembic in memory (10 MB). tests/foundation/test_migrations.py compares the two schemas
(tables, columns, defaults, keys, indexes, constraints, other objects and rows) on SQLite and
PostgreSQL, so a migration the models do not mirror fails there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, Connection, Engine, MetaData, PrimaryKeyConstraint, String, Table, insert, inspect

from lynkflow.db.data_version import VERSIONS
from lynkflow.db.models import Base, ControlState

if TYPE_CHECKING:
    from alembic.config import Config


class MigrationsMissing(RuntimeError):
    """The installed package has no migration files: the schema cannot be created or checked."""


def migrations_dir() -> Path:
    """The folder of the installed `lynkflow.migrations` package, with its version files checked.

    Found through the package (never relative to a checkout), so an installed wheel migrates the
    same way as the repository does.
    """
    import lynkflow.migrations

    folder = Path(lynkflow.migrations.__file__).resolve().parent
    if not (folder / "env.py").is_file() or not any((folder / "versions").glob("0*.py")):
        raise MigrationsMissing(f"no migration files in {folder} (env.py and versions/*.py): "
                                "the lynkflow installation is incomplete; reinstall it")
    return folder


# The newest revision in migrations/versions (tests/foundation/test_migrations.py checks it).
SCHEMA_HEAD = "0010_uplynk_version"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# Alembic's own version table (alembic.ddl.impl.DefaultImpl.version_table_impl), for the stamp.
_VERSION_TABLE = Table("alembic_version", MetaData(), Column("version_num", String(32), nullable=False),
                       PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


def migrate_to_head(engine: Engine) -> None:
    """The schema at `SCHEMA_HEAD`: nothing to do when it is there; created from the models on a
    database with no tables; Alembic's upgrade otherwise (see the module docstring)."""
    if is_at_head(engine):
        return
    migrations_dir()  # an installation without its migrations refuses, whichever way it would migrate
    with engine.begin() as conn:
        if not inspect(conn).get_table_names():
            create_at_head(conn)
            return
    upgrade(engine)


def create_at_head(conn: Connection) -> None:
    """Every table of the models, the data versions' triggers, the migrations' initial rows, and Alembic's
    version table stamped at `SCHEMA_HEAD`."""
    Base.metadata.create_all(conn)
    for version in VERSIONS:
        version.create_triggers(conn)
    # The rows the migrations insert into a new database: the shared-state counters (0004, 0009, 0010).
    conn.execute(insert(ControlState), [{"name": "_version", "doc": "{}", "version": 1},
                                        {"name": "_journal", "doc": "{}", "version": 0},
                                        {"name": "_vis", "doc": "{}", "version": 0},
                                        {"name": "_uplynk", "doc": "{}", "version": 0}])
    _VERSION_TABLE.create(conn)
    conn.execute(insert(_VERSION_TABLE).values(version_num=SCHEMA_HEAD))


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def head_revision() -> str:
    """Alembic's own idea of the head (imports Alembic; for tests and tools)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return row[0] if row else None


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == SCHEMA_HEAD
