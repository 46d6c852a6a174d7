"""Data versions: counters in `control_state` that every commit changing the tables an answer is made of
increments, whoever writes (an API request, a worker, another process, a statement typed into the
database), so an answer kept under one value (lynkflow/kept_answers.py) is the database's answer while
the value is unchanged. Commits to other tables (the request journal, api2's replay records, the other
face's writes) leave a counter alone, so answers kept under it survive them.

Two counters, each with the tables it is fed by (`DataVersion.tables`):

- `_vis` (VIS lists): assets, events, vuflows (an asset's URL base, an event's vuflow name) and
  media (an event's `video`, asked with ProcessVideo). API keys are checked before an answer is
  looked up, and nothing in a list depends on the clock.
- `_uplynk` (api2 asset/list): the assets, their search terms (a `query`'s index probes), test
  players, library members and shares (shared assets, an asset's `libraries`) and media (the
  rendered URLs). Not libraries themselves (nothing of theirs is rendered; deleting one cascades to
  its members and shares, whose triggers fire), owners or API keys (checked before the answer is
  looked up), jobs (an asset's state is its own column).

Triggers keep them, not the code that writes: nothing that writes a row can forget them.

- SQLite: a row trigger per table and statement kind. A DELETE without WHERE fires them too (a
  table with triggers has no truncate shortcut).
- PostgreSQL: the bump runs at commit (a deferred constraint trigger), once per transaction and
  counter (a transaction-local setting remembers it), so a counter row is locked only from the
  commit's start to its end. The first bump of a transaction locks every counter row in name order
  before it increments its own: a transaction that changes VIS then Uplynk rows and one that
  changes them the other way round would otherwise each hold one counter and wait for the other.
  TRUNCATE fires no row trigger: a statement trigger bumps for it.

A migration that recreates a feeding table (SQLite's batch mode copies it) drops its triggers, and
must create them again (`create_triggers`); tests/vuflow/test_vis_version.py and
tests/uplynk/test_uplynk_version.py check the head schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from lynkflow.shared import DATA_ROWS, UPLYNK_ROW, VIS_ROW

_KINDS = ("INSERT", "UPDATE", "DELETE")
_PG_LOCKED = "lynkflow.data_locked"  # set once this transaction holds every counter row


@dataclass(frozen=True)
class DataVersion:
    """One counter (`row` of `control_state`) and the tables whose every change increments it."""

    row: str
    tables: tuple[str, ...]

    @property
    def _name(self) -> str:
        return self.row.lstrip("_")  # "vis": triggers `{table}_vis_{kind}`, function `lynkflow_vis_bump`

    def triggers(self, dialect: str) -> list[tuple[str, str]]:
        """(trigger, table) of every trigger `create_triggers` makes."""
        kinds = ("bump", "truncate") if dialect == "postgresql" else [kind.lower() for kind in _KINDS]
        return [(f"{table}_{self._name}_{kind}", table) for table in self.tables for kind in kinds]

    def create_triggers(self, conn: Connection) -> None:
        """The counter's triggers on every feeding table (the counter row is inserted with the others)."""
        if conn.dialect.name == "postgresql":
            self.create_function(conn)
            for table in self.tables:
                conn.exec_driver_sql(
                    f"CREATE CONSTRAINT TRIGGER {table}_{self._name}_bump AFTER INSERT OR UPDATE OR DELETE "
                    f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {self._function}()")
                conn.exec_driver_sql(f"CREATE TRIGGER {table}_{self._name}_truncate AFTER TRUNCATE ON {table} "
                                     f"FOR EACH STATEMENT EXECUTE FUNCTION {self._function}()")
            return
        for table in self.tables:
            for kind in _KINDS:
                conn.exec_driver_sql(f"CREATE TRIGGER {table}_{self._name}_{kind.lower()} AFTER {kind} ON {table} "
                                     f"BEGIN {self._bump}; END")

    def create_function(self, conn: Connection, *, replace: bool = False) -> None:
        """PostgreSQL: the function the triggers run (`replace`: a migration gives an older one this body)."""
        once = f"lynkflow.{self._name}_bumped"  # set for the rest of the transaction once it has bumped
        rows = ", ".join(f"'{row}'" for row in sorted(DATA_ROWS))
        conn.exec_driver_sql(
            f"CREATE {'OR REPLACE ' if replace else ''}FUNCTION {self._function}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN "
            f"IF coalesce(current_setting('{once}', true), '') = '' THEN "
            f"PERFORM set_config('{once}', 'yes', true); "
            f"IF coalesce(current_setting('{_PG_LOCKED}', true), '') = '' THEN "
            f"PERFORM set_config('{_PG_LOCKED}', 'yes', true); "
            f"PERFORM 1 FROM control_state WHERE name IN ({rows}) ORDER BY name FOR UPDATE; END IF; "
            f"{self._bump}; END IF; RETURN NULL; END $$")

    def drop_triggers(self, conn: Connection) -> None:
        postgres = conn.dialect.name == "postgresql"
        for name, table in self.triggers(conn.dialect.name):
            conn.exec_driver_sql(f"DROP TRIGGER {name} ON {table}" if postgres else f"DROP TRIGGER {name}")
        if postgres:
            conn.exec_driver_sql(f"DROP FUNCTION {self._function}()")

    @property
    def _function(self) -> str:
        return f"lynkflow_{self._name}_bump"

    @property
    def _bump(self) -> str:
        return f"UPDATE control_state SET version = version + 1 WHERE name = '{self.row}'"


VIS = DataVersion(VIS_ROW, ("vis_assets", "vis_events", "vis_vuflows", "media"))
UPLYNK = DataVersion(UPLYNK_ROW, ("uplynk_assets", "uplynk_asset_terms", "uplynk_test_players",
                                  "uplynk_library_assets", "uplynk_library_shares", "media"))
VERSIONS = (VIS, UPLYNK)
