"""Compile a parsed asset/list query into SQL over the term index.

A word is matched through the (term, field) index: an exact word is `term = w`, a trailing wildcard
`w*` is the index range `w <= term < w'`, any other wildcard a LIKE. Every term test is a correlated
EXISTS on the index's primary key (asset_id, field, term), so it costs one index probe per candidate
asset. The candidates come from one "driver": the term set every match must belong to (a required
term, or the union of a criterion's plain terms) that is smallest, found by counting each
candidate set's first `PROBE_LIMIT` rows. So a query touches about as many rows as its rarest
necessary term has, not as many as there are assets: 100k assets cost about what 10k do.

The SQL is exact except for phrases, which it treats as "all these words present"; callers then
confirm candidates with `lynkflow.uplynk.query.matches` (see `needs_confirmation`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, false, func, not_, or_, select, union

from lynkflow.db.like import ESCAPE, escape_like
from lynkflow.db.models import UplynkAsset, UplynkAssetTerm
from lynkflow.uplynk.query import Criterion, Query, Term, scope_fields

T = UplynkAssetTerm
A = UplynkAsset.__table__
PROBE_LIMIT = 2000


def _next_prefix(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _word_cond(col, pattern: str) -> ColumnElement[bool]:  # noqa: ANN001 - a column
    if "*" not in pattern:
        return col == pattern
    stem = pattern.rstrip("*")
    if "*" not in stem:
        if not stem:
            return col.is_not(None)
        return and_(col >= stem, col < _next_prefix(stem))
    return col.like(escape_like(pattern).replace("*", "%"), escape=ESCAPE)


def _field_cond(scope: str) -> ColumnElement[bool]:
    fields = scope_fields(scope)
    return T.field == fields[0] if len(fields) == 1 else T.field.in_(fields)


def _has_word(scope: str, pattern: str) -> ColumnElement[bool]:
    if scope == "source":
        return _word_cond(func.lower(A.c.source), pattern)
    return exists().where(T.asset_id == A.c.id, _field_cond(scope), _word_cond(T.term, pattern))


def _has_term(scope: str, term: Term, skip: str | None = None) -> ColumnElement[bool]:
    conds = [_has_word(scope, w) for w in dict.fromkeys(term.words) if w != skip]
    return and_(*conds) if conds else ~false()


def _criterion_cond(c: Criterion, skip: tuple[int, str] | None = None) -> ColumnElement[bool]:
    """`skip` = (term index, word) already guaranteed by the driver; not tested twice."""

    def sk(i: int) -> str | None:
        return skip[1] if skip is not None and skip[0] == i else None

    index = {id(t): i for i, t in enumerate(c.terms)}
    conds: list[ColumnElement[bool]] = [_has_term(c.scope, t, sk(index[id(t)])) for t in c.required]
    if c.optional and not c.required:
        conds.append(or_(*[_has_term(c.scope, t, sk(index[id(t)])) for t in c.optional]))
    for t in c.excluded:
        # Excluding "all words of a phrase" would drop too much; phrases are excluded on confirmation.
        if not t.is_phrase:
            conds.append(not_(_has_term(c.scope, t)))
    return and_(*conds) if conds else ~false()


# --- the driver ---------------------------------------------------------------------------------


def _word_ids(scope: str, pattern: str) -> Select:
    if scope == "source":
        return select(A.c.id.label("asset_id")).where(_word_cond(func.lower(A.c.source), pattern))
    return select(T.asset_id).where(_field_cond(scope), _word_cond(T.term, pattern))


Skip = tuple[int, int, str] | None  # (criterion index, term index, word) the driver guarantees


def _must_sets(query: Query) -> list[tuple[list[Select], Skip]]:
    """Candidate sets every match belongs to (each a union of word-id selects), with what they prove."""
    out: list[tuple[list[Select], Skip]] = []
    for ci, c in enumerate(query.criteria):
        index = {id(t): i for i, t in enumerate(c.terms)}
        singles = c.required if c.required else (c.optional if len(c.optional) == 1 else [])
        # A required term is necessary, and so is a lone plain term: so is each of its words.
        for t in singles:
            out.extend(([_word_ids(c.scope, w)], (ci, index[id(t)], w)) for w in dict.fromkeys(t.words))
        if len(c.optional) > 1 and not c.required:
            # Any plain term will do; a phrase contributes its longest word (all its words must be present).
            out.append(([_word_ids(c.scope, max(t.words, key=len)) for t in c.optional], None))
    return out


def _probe(conn: Connection, parts: list[Select]) -> int:
    total = 0
    for part in parts:
        total += conn.execute(select(func.count()).select_from(part.limit(PROBE_LIMIT).subquery())).scalar_one()
        if total >= PROBE_LIMIT:
            break
    return total


def where_clause(query: Query, conn: Connection | None = None) -> ColumnElement[bool]:
    if not query.criteria:
        return ~false()
    sets = _must_sets(query)
    if not sets:
        return and_(*[_criterion_cond(c) for c in query.criteria])
    if conn is not None and len(sets) > 1:
        sizes = [_probe(conn, parts) for parts, _ in sets]
        driver, skip = sets[sizes.index(min(sizes))]
    else:
        driver, skip = sets[0]
    cond = and_(*[_criterion_cond(c, (skip[1], skip[2]) if skip is not None and skip[0] == ci else None)
                  for ci, c in enumerate(query.criteria)])
    driver_ids = driver[0] if len(driver) == 1 else union(*driver)
    return and_(A.c.id.in_(driver_ids), cond)


def needs_confirmation(query: Query) -> bool:
    return query.has_phrases
