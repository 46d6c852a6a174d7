"""Inserts that several processes may make at once: a row is added unless its primary key exists.

Default accounts are made by every process that starts and by every reset, and any number of
`lynkflow serve` and `lynkflow worker` processes may start together on one PostgreSQL database. A
look-then-insert lets two of them both look, both insert and one fail on the primary key (seen:
a worker that died at start). `INSERT ... ON CONFLICT DO NOTHING` makes the look and the insert
one statement; SQLite and PostgreSQL both have it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def insert_missing(db: Session, model: type[Any], **values: Any) -> bool:
    """Insert the row unless a row with its primary key exists; True when this call inserted it."""
    # The database's own dialect module only: importing PostgreSQL's costs a SQLite start ~36 ms.
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    result = db.execute(insert(model).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]
