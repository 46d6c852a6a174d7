"""The VIS version: a counter in `control_state` that every commit changing a table VIS lists are made
of increments, whoever writes (an API request, a worker, another process, a statement typed into the
database), so an answer kept under one value (vuflow/answers.py) is the database's answer while the
value is unchanged. Commits to other tables (the request journal, api2's replay records, Uplynk
writes) leave it alone, so kept VIS answers survive them.

Triggers keep it, not the code that writes: nothing that writes a row can forget it. The tables are
those a VIS list shows (`FEEDING`): assets, events, vuflows (an asset's URL base, an event's vuflow
name) and media (an event's `video`, asked with ProcessVideo). API keys are checked before an
answer is looked up, and nothing in a list depends on the clock.

- SQLite: a row trigger per table and statement kind. A DELETE without WHERE fires them too (a
  table with triggers has no truncate shortcut).
- PostgreSQL: the bump runs at commit (a deferred constraint trigger), once per transaction (a
  transaction-local setting remembers it), so the counter row is locked only from the commit's
  start to its end: two transactions that change VIS rows in opposite orders cannot deadlock on
  it. TRUNCATE fires no row trigger: a statement trigger bumps for it.

A migration that recreates a feeding table (SQLite's batch mode copies it) drops its triggers, and
must create them again (`create_triggers`); tests/vuflow/test_vis_version.py checks the head schema.
"""

from __future__ import annotations

from sqlalchemy import Connection

from lynkflow.shared import VIS_ROW

FEEDING = ("vis_assets", "vis_events", "vis_vuflows", "media")
_KINDS = ("INSERT", "UPDATE", "DELETE")
_BUMP = f"UPDATE control_state SET version = version + 1 WHERE name = '{VIS_ROW}'"
_PG_FUNCTION = "lynkflow_vis_bump"
_PG_ONCE = "lynkflow.vis_bumped"  # set for the rest of the transaction once it has bumped


def triggers(dialect: str) -> list[tuple[str, str]]:
    """(trigger, table) of every trigger `create_triggers` makes."""
    kinds = ("bump", "truncate") if dialect == "postgresql" else [kind.lower() for kind in _KINDS]
    return [(f"{table}_vis_{kind}", table) for table in FEEDING for kind in kinds]


def create_triggers(conn: Connection) -> None:
    """The counter's triggers on every feeding table (the `_vis` row itself is inserted with the others)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF coalesce(current_setting('{_PG_ONCE}', true), '') = '' THEN "
            f"PERFORM set_config('{_PG_ONCE}', 'yes', true); {_BUMP}; END IF; RETURN NULL; END $$")
        for table in FEEDING:
            conn.exec_driver_sql(
                f"CREATE CONSTRAINT TRIGGER {table}_vis_bump AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()")
            conn.exec_driver_sql(f"CREATE TRIGGER {table}_vis_truncate AFTER TRUNCATE ON {table} "
                                 f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()")
        return
    for table in FEEDING:
        for kind in _KINDS:
            conn.exec_driver_sql(f"CREATE TRIGGER {table}_vis_{kind.lower()} AFTER {kind} ON {table} "
                                 f"BEGIN {_BUMP}; END")


def drop_triggers(conn: Connection) -> None:
    postgres = conn.dialect.name == "postgresql"
    for name, table in triggers(conn.dialect.name):
        conn.exec_driver_sql(f"DROP TRIGGER {name} ON {table}" if postgres else f"DROP TRIGGER {name}")
    if postgres:
        conn.exec_driver_sql(f"DROP FUNCTION {_PG_FUNCTION}()")
