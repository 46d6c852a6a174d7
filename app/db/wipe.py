"""Delete every row of every lynkflow table (the schema and its version stay)."""

from __future__ import annotations

from sqlalchemy import Engine

from lynkflow.db.models import Base


def wipe_all(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
