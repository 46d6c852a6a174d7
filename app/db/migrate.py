"""Run the Alembic migrations of the `lynkflow.migrations` package against a configured database.

Start-up checks the stored revision against `SCHEMA_HEAD` with one SQL query and imports
Alembic only when there is something to migrate: Alembic's import alone costs about as much as
the rest of a warm start. A test keeps `SCHEMA_HEAD` equal to Alembic's own head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect

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
SCHEMA_HEAD = "0007_search_pairs"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


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
