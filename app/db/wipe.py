"""Delete every row of every lynkflow table (the schema and its version stay).

Two tables keep something: `lynkflow_kv` keeps the presence rows of running processes (they are
not data), and the shared control-plane state (`control_state`) loses its documents but keeps its
counters: `_version` goes up (every process then sees that its cached state is stale), `_vis` goes
up through its triggers (the deleted rows), the others go back to 0. On SQLite the replay memory's
file (lynkflow/db/replay_file.py) is emptied too.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, Table

from lynkflow.db.models import Base, ControlReplay, ControlState, KeyValue
from lynkflow.db.presence import PREFIX as PRESENCE_PREFIX
from lynkflow.db.replay_file import replay_engine
from lynkflow.shared import COUNTER_ROWS, GROWING_ROWS, bump


def clear_table(conn: Connection, table: Table) -> None:
    """Delete a table's rows, keeping what is not data (presence rows, shared counters)."""
    if table.name == KeyValue.__tablename__:
        conn.execute(table.delete().where(~table.c.key.startswith(PRESENCE_PREFIX)))
    elif table is ControlState.__table__:
        conn.execute(table.delete().where(table.c.name.not_in(COUNTER_ROWS)))
        conn.execute(table.update().where(table.c.name.in_(COUNTER_ROWS), table.c.name.not_in(GROWING_ROWS))
                     .values(version=0))
    else:
        conn.execute(table.delete())


def wipe_all(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            clear_table(conn, table)
        bump(conn)
    replay = replay_engine(engine)
    if replay is not engine:  # SQLite: the replay memory is a file of its own
        try:
            with replay.begin() as conn:
                clear_table(conn, ControlReplay.__table__)
        finally:
            replay.dispose()
