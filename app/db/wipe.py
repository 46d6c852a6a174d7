"""Delete every row of every lynkflow table (the schema and its version stay)."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, Table

from lynkflow.db.models import Base, KeyValue
from lynkflow.db.presence import PREFIX as PRESENCE_PREFIX


def clear_table(conn: Connection, table: Table) -> None:
    """Delete a table's rows, keeping the presence rows of running processes (they are not data)."""
    if table.name == KeyValue.__tablename__:
        conn.execute(table.delete().where(~table.c.key.startswith(PRESENCE_PREFIX)))
    else:
        conn.execute(table.delete())


def wipe_all(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            clear_table(conn, table)
