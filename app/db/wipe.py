"""Delete every row of every lynkflow table (the schema and its version stay).

The shared control-plane state (`control_state`) loses its documents but keeps its `_version`
row, whose counter goes up instead: every process then sees that its cached state is stale.
"""

from __future__ import annotations

from sqlalchemy import Engine

from lynkflow.db.models import Base, ControlState
from lynkflow.shared import VERSION_ROW, bump


def wipe_all(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table is ControlState.__table__:
                conn.execute(table.delete().where(table.c.name != VERSION_ROW))
            else:
                conn.execute(table.delete())
        bump(conn)
