"""Delete every row of every lynkflow table (the schema and its version stay).

The shared control-plane state (`control_state`) loses its documents but keeps its counters:
`_version` goes up (every process then sees that its cached state is stale), the others go
back to 0.
"""

from __future__ import annotations

from sqlalchemy import Engine

from lynkflow.db.models import Base, ControlState
from lynkflow.shared import COUNTER_ROWS, VERSION_ROW, bump


def wipe_all(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table is ControlState.__table__:
                conn.execute(table.delete().where(table.c.name.not_in(COUNTER_ROWS)))
                conn.execute(table.update().where(table.c.name.in_(COUNTER_ROWS), table.c.name != VERSION_ROW)
                             .values(version=0))
            else:
                conn.execute(table.delete())
        bump(conn)
