"""db/prepared.py: a statement compiled once and run on a DB-API cursor gives the rows SQLAlchemy
gives (its dialect's result and bind processors), refuses what it cannot bind by name, and its memo
of decoded JSON texts stays bounded."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import bindparam, select

from lynkflow.db import prepared
from lynkflow.db.models import Job, UplynkOwner


def test_rows_are_the_values_sqlalchemy_gives(ctx) -> None:
    with ctx.session() as db:
        db.add(UplynkOwner(id="o" * 32, name="ünï", studio_drm=True, created=1))
        db.add(Job(kind="k", payload={"a": [1, 2]}, progress=0.25, cancel_requested=True, created=5))
    cases = [
        (select(UplynkOwner).where(UplynkOwner.studio_drm == bindparam("drm")), {"drm": True}),
        (select(Job.id, Job.payload, Job.progress, Job.cancel_requested, Job.result)
         .where(Job.cancel_requested == bindparam("cancel")), {"cancel": True}),
        (select(Job.kind).where(Job.payload == bindparam("doc", type_=Job.payload.type)),
         {"doc": {"a": [1, 2]}} if ctx.engine.dialect.name == "sqlite" else None),
    ]
    reads = prepared.statements(ctx.engine)
    for stmt, params in cases:
        if params is None:  # JSON equality is SQLite's (text); PostgreSQL has no `=` on json
            continue
        with ctx.engine.connect() as conn:
            expected = conn.execute(stmt, params).all()
        got = reads.rows(stmt, params)
        assert got and [tuple(r) for r in got] == [tuple(r) for r in expected], stmt
        assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in expected]
        assert got[0]._fields == expected[0]._fields
        assert reads.rows(stmt, params) == got  # the second run, with the processors found by the first


def test_statements_sqlalchemy_renders_per_execution_are_refused(ctx) -> None:
    with pytest.raises(ValueError):
        prepared.Prepared(ctx.engine.dialect, select(Job.id).where(Job.id.in_(bindparam("ids", expanding=True))))


def test_each_statement_is_compiled_once_per_engine(ctx) -> None:
    stmt = select(Job.id)
    reads = prepared.statements(ctx.engine)
    assert prepared.statements(ctx.engine) is reads
    assert reads.get(stmt) is reads.get(stmt)


def test_json_memo_is_bounded_and_skips_long_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepared, "_JSON_MEMO", {})
    monkeypatch.setattr(prepared, "_JSON_MEMO_ENTRIES", 3)
    decode = prepared._memoized_json(json.loads)
    first = decode('{"genre":"news"}')
    assert first == {"genre": "news"}
    assert decode('{"genre":"news"}') is first  # decoded once
    for i in range(10):
        assert decode(f"[{i}]") == [i]
        assert len(prepared._JSON_MEMO) <= 3
    long_text = '"' + "x" * prepared._JSON_MEMO_TEXT_MAX + '"'
    assert decode(long_text) == "x" * prepared._JSON_MEMO_TEXT_MAX
    assert long_text not in prepared._JSON_MEMO
    assert decode("null") is None and "null" in prepared._JSON_MEMO
