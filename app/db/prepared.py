"""Prepared reads: a SELECT compiled once for the engine's dialect and run on a DB-API cursor.

The ONE way the hot read paths (api2 asset/get and asset/list, the VIS asset and event pages) run a
statement without SQLAlchemy's per-execution layers. Through a Session or a Connection, each
execution of a cheap statement paid for the transaction, the compiled cache lookup, parameter
construction and SQLAlchemy's result handling (row fetching, keyed rows), several times what the
database took. Here a statement is compiled once, and each execution only binds its values and
converts the columns that need it, with SQLAlchemy's own processors for the dialect: booleans that
SQLite stores as integers, datetimes that SQLite stores as text, JSON that SQLite hands over as text
and PostgreSQL's driver decodes itself, and the bind processors of parameters. So a row comes back
with the values SQLAlchemy would give, as a named tuple (attribute, position and `_fields` access,
like a Core `Row`).

Statements that SQLAlchemy renders again per execution (expanding IN lists, `literal_execute`) or
whose parameter names it escapes are refused: they cannot be bound by name at run time.

Rows are read-only: equal short JSON values are one shared object (`_decoded_json`).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from sqlalchemy import JSON, Engine, Select
from sqlalchemy.engine.interfaces import Dialect

from lynkflow.db.engine import autocommit_cursor

Processor = Callable[[Any], Any]


class Prepared:
    """One SELECT compiled for a dialect; `rows(cur, params)` runs it on a DB-API cursor.

    `literal`: every value bound in `stmt` is written into the SQL text (`Statements.with_values`);
    run it with no run-time values (`rows(cur, {})`).
    """

    def __init__(self, dialect: Dialect, stmt: Select, *, literal: bool = False) -> None:
        # SQLAlchemy's literal rendering escapes a text for the dialect (quotes; on PostgreSQL
        # backslashes too when the server's standard_conforming_strings is off, as learnt on connect).
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True} if literal else {})
        if compiled.literal_execute_params or compiled.post_compile_params or compiled.escaped_bind_names:
            raise ValueError("statement needs SQLAlchemy's per-execution rendering")
        self.dialect = dialect
        self.sql = compiled.string
        self.positional: list[str] = list(compiled.positiontup or [])
        # Values bound in the statement itself (an owner, a search pattern); run-time ones are added.
        self.bound = {k: v for k, v in compiled.params.items() if v is not None}
        self.bind_processors: dict[str, Processor] = dict(compiled._bind_processors)
        columns = list(stmt.selected_columns)
        self.row_type = namedtuple("Row", [c.name for c in columns])  # type: ignore[misc]
        self._types = [c.type for c in columns]
        # (position, processor) of the columns that need converting; known after the first execution,
        # as SQLAlchemy picks a processor by the driver's type code in the cursor's description too.
        self._processors: list[tuple[int, Processor]] | None = None

    def _parameters(self, params: Mapping[str, Any]) -> Any:
        if self.bound:
            params = {**self.bound, **params}
        if self.bind_processors:
            params = {k: (self.bind_processors[k](v) if k in self.bind_processors else v) for k, v in params.items()}
        return tuple(params[name] for name in self.positional) if self.positional else params

    def _processors_for(self, description: Any) -> list[tuple[int, Processor]]:
        found = []
        for i, (type_, column) in enumerate(zip(self._types, description or [], strict=False)):
            proc = type_._cached_result_processor(self.dialect, column[1])
            if proc is not None:
                found.append((i, _memoized_json(proc) if isinstance(type_, JSON) else proc))
        return found

    def rows(self, cur: Any, params: Mapping[str, Any]) -> list[Any]:
        cur.execute(self.sql, self._parameters(params))
        fetched = cur.fetchall()
        processors = self._processors
        if processors is None:
            processors = self._processors = self._processors_for(cur.description)
        make = self.row_type._make
        if not processors:
            return list(map(make, fetched))
        out = []
        for row in fetched:
            values = list(row)
            for i, proc in processors:
                if values[i] is not None:
                    values[i] = proc(values[i])
            out.append(make(values))
        return out


# Decoded JSON column values by their text. A page of rows whose renderings are cached needs its JSON
# only to compare with the cached row, yet decoding `meta` and `break_offsets` of 20 rows was a
# sizeable share of an api2 list; the same short texts recur from request to request. One memo serves
# every JSON column: a dialect decodes all of them with the same deserializer (the engine's). The
# decoded values are shared between rows: prepared rows are read-only (rendering copies what it keeps).
_JSON_MEMO: dict[str | bytes, Any] = {}
_JSON_MEMO_ENTRIES = 20_000
_JSON_MEMO_TEXT_MAX = 512  # longer texts are decoded each time: the memo's size stays bounded


def _memoized_json(decode: Processor) -> Processor:
    def decoded(text: Any) -> Any:
        try:
            value = _JSON_MEMO.get(text, _JSON_MEMO)  # the memo itself stands for "absent"
        except TypeError:  # not a text: a driver that decoded it already
            return decode(text)
        return _decoded_json(text, decode) if value is _JSON_MEMO else value

    return decoded


def _decoded_json(text: str | bytes, decode: Processor) -> Any:
    value = decode(text)
    if len(text) <= _JSON_MEMO_TEXT_MAX:
        if len(_JSON_MEMO) >= _JSON_MEMO_ENTRIES:
            _JSON_MEMO.clear()  # crude but bounded; one dict operation each, safe across threads
        _JSON_MEMO[text] = value
    return value


class Statements:
    """The prepared form of each statement run through it, for one engine, made on first use.

    Keyed by the statement object itself (kept alive here, so its identity is never reused), with
    its values for `with_values`: the statements are built once per shape by their modules, so a
    cache miss means a new shape (or new values).
    """

    MAX_STATEMENTS = 512

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._prepared: OrderedDict[Hashable, Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stmt: Select) -> Prepared:
        return self._get(stmt, lambda: Prepared(self.engine.dialect, stmt))

    def with_values(self, stmt: Select, values: Mapping[str, int]) -> Prepared:
        """`stmt` with `values` for its run-time parameters, every value written into the SQL text.

        For a statement whose best plan depends on its values: PostgreSQL plans a statement the
        driver has prepared (psycopg: from its 5th execution on a connection) once, for any values
        (a generic plan), where the values are only `$n`; a text holding its values is planned for
        them, and still only once. Only for integers given at run time (limit, skip): the other
        values are the statement's own. Call it with a connection of the engine open, so the dialect
        has learnt how the server reads string literals."""
        key = (stmt, *sorted(values.items()))
        return self._get(key, lambda: Prepared(self.engine.dialect, stmt.params(values), literal=True))

    def _get(self, key: Hashable, make: Callable[[], Prepared]) -> Prepared:
        with self._lock:
            hit = self._prepared.get(key)
            if hit is not None:
                self._prepared.move_to_end(key)
                return hit
        prepared = make()  # outside the lock: compiling takes a while
        with self._lock:
            self._prepared[key] = prepared
            if len(self._prepared) > self.MAX_STATEMENTS:
                self._prepared.popitem(last=False)
        return prepared

    def rows(self, stmt: Select, params: Mapping[str, Any]) -> list[Any]:
        """`stmt`'s rows, as one autocommit statement on a pooled connection (it sees the latest commit)."""
        prepared = self.get(stmt)
        with autocommit_cursor(self.engine) as cur:
            return prepared.rows(cur, params)


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, Statements] = weakref.WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()


def statements(engine: Engine) -> Statements:
    """The engine's `Statements` (one per engine, so each statement is compiled once per process)."""
    found = _BY_ENGINE.get(engine)
    if found is None:
        with _BY_ENGINE_LOCK:
            found = _BY_ENGINE.get(engine)
            if found is None:
                found = _BY_ENGINE[engine] = Statements(engine)
    return found
