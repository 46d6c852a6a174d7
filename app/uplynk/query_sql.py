"""Compile a parsed asset/list query into SQL over the term index.

A word is matched through the (term, field) index: an exact word is `term = w`, a trailing wildcard
`w*` is the index range `w <= term < w'`, any other wildcard a LIKE. Every term test is a correlated
EXISTS on the index's primary key (asset_id, field, term), so it costs one index probe per candidate
asset. The candidates come from one "driver": the term set every match must belong to (a required
term, or the union of a criterion's plain terms) that is smallest, found by counting each
candidate set's first `PROBE_LIMIT` rows. So a query touches about as many rows as its rarest
necessary term has, not as many as there are assets: 100k assets cost about what 10k do.

A phrase is matched through the index's word-pair rows (lynkflow.domain.uplynk_search): every
adjacent pair of plain words must be present as a pair, and each word not in such a pair (a
wildcard, or a word next to one) as a word. That is exact for a two-word phrase of plain words;
any other phrase narrows the candidates to the few assets holding all its pairs, which callers then
confirm with `lynkflow.uplynk.query.matches` (see `needs_confirmation`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, false, func, not_, or_, select, union

from lynkflow.db.like import ESCAPE, escape_like
from lynkflow.db.models import UplynkAsset, UplynkAssetTerm
from lynkflow.domain.uplynk_search import pair_field, pair_is_exact, pair_term
from lynkflow.uplynk.query import Criterion, Query, Term, scope_fields

T = UplynkAssetTerm.__table__
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


def _field_is(fields: Iterable[str]) -> ColumnElement[bool]:
    # Equalities, not IN: a list of values is an "expanding" parameter, which SQLAlchemy renders into
    # the SQL again on every execution; both planners read this OR as the same IN list.
    return or_(*[T.c.field == f for f in fields])


def _field_cond(scope: str) -> ColumnElement[bool]:
    return _field_is(scope_fields(scope))


def _has_word(scope: str, pattern: str) -> ColumnElement[bool]:
    if scope == "source":
        return _word_cond(func.lower(A.c.source), pattern)
    return exists().where(T.c.asset_id == A.c.id, _field_cond(scope), _word_cond(T.c.term, pattern))


def _pair_field_cond(scope: str) -> ColumnElement[bool]:
    return _field_is(pair_field(f) for f in scope_fields(scope))


def _has_pair(scope: str, pair: str) -> ColumnElement[bool]:
    return exists().where(T.c.asset_id == A.c.id, _pair_field_cond(scope), T.c.term == pair)


def _pairs(term: Term) -> list[tuple[str, str]]:
    """The adjacent pairs of plain words of a phrase: the ones the index holds as pair rows."""
    return list(dict.fromkeys((a, b) for a, b in zip(term.words, term.words[1:], strict=False)
                              if "*" not in a and "*" not in b))


def _pair_exact(term: Term) -> bool:
    """Whether the SQL answers this phrase exactly: two plain words whose pair is stored whole."""
    return len(term.words) == 2 and len(_pairs(term)) == 1 and pair_is_exact(*term.words)


def _parts(scope: str, term: Term) -> list[tuple[bool, str]]:
    """The necessary parts of a term as (is a pair, text): a phrase's pairs and its unpaired words,
    or a term's words. A pair's text holds a space and a word never does, so texts never clash."""
    if term.is_phrase and scope != "source":
        pairs = _pairs(term)
        paired = {w for pair in pairs for w in pair}
        return ([(True, pair_term(a, b)) for a, b in pairs]
                + [(False, w) for w in dict.fromkeys(term.words) if w not in paired])
    return [(False, w) for w in dict.fromkeys(term.words)]


def _has_term(scope: str, term: Term, skip: str | None = None) -> ColumnElement[bool]:
    """`skip`: the part the driver already guarantees, not tested twice."""
    conds = [(_has_pair if is_pair else _has_word)(scope, text) for is_pair, text in _parts(scope, term)
             if text != skip]
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
        # Excluding "all pairs of a longer phrase" would drop too much: those are excluded on confirmation.
        if not t.is_phrase or _pair_exact(t):
            conds.append(not_(_has_term(c.scope, t)))
    return and_(*conds) if conds else ~false()


# --- the driver ---------------------------------------------------------------------------------


def _word_ids(scope: str, pattern: str) -> Select:
    if scope == "source":
        return select(A.c.id.label("asset_id")).where(_word_cond(func.lower(A.c.source), pattern))
    return select(T.c.asset_id).where(_field_cond(scope), _word_cond(T.c.term, pattern))


def _pair_ids(scope: str, pair: str) -> Select:
    return select(T.c.asset_id).where(_pair_field_cond(scope), T.c.term == pair)


def _term_sets(scope: str, term: Term) -> list[tuple[Select, str]]:
    """(asset-id set, the part it guarantees) for each necessary part of a term."""
    return [((_pair_ids if is_pair else _word_ids)(scope, text), text) for is_pair, text in _parts(scope, term)]


Skip = tuple[int, int, str] | None  # (criterion index, term index, part) the driver guarantees


# Built once per distinct query (a Query is frozen, so hashable): a repeated query then neither builds
# its selects again nor has SQLAlchemy compute their cache keys again (memoized on the objects).
@functools.lru_cache(maxsize=256)
def _must_sets(query: Query) -> list[tuple[list[Select], Skip]]:
    """Candidate sets every match belongs to (each a union of word-id selects), with what they prove.
    Shared between callers: never modified."""
    out: list[tuple[list[Select], Skip]] = []
    for ci, c in enumerate(query.criteria):
        index = {id(t): i for i, t in enumerate(c.terms)}
        singles = c.required if c.required else (c.optional if len(c.optional) == 1 else [])
        # A required term is necessary, and so is a lone plain term: so is each of its parts.
        for t in singles:
            out.extend(([ids], (ci, index[id(t)], part)) for ids, part in _term_sets(c.scope, t))
        if len(c.optional) > 1 and not c.required:
            # Any plain term will do; a phrase contributes one necessary part (a pair if it has one).
            out.append(([_term_sets(c.scope, t)[0][0] for t in c.optional], None))
    return out


def _probe(conn: Connection, parts: list[Select]) -> int:
    total = 0
    for part in parts:
        total += conn.execute(select(func.count()).select_from(part.limit(PROBE_LIMIT).subquery())).scalar_one()
        if total >= PROBE_LIMIT:
            break
    return total


def choose_driver(query: Query, connection: Callable[[], Connection]) -> int:
    """Which candidate set drives the query (`where_clause`'s `driver`): the smallest, by counting
    each one's first `PROBE_LIMIT` rows; with one candidate set or none, no statement is run (and
    `connection` is not called, so a caller's session need not begin a transaction)."""
    sets = _must_sets(query)
    if len(sets) <= 1:
        return 0
    conn = connection()
    sizes = [_probe(conn, parts) for parts, _ in sets]
    return sizes.index(min(sizes))


def where_clause(query: Query, driver: int = 0) -> ColumnElement[bool]:
    """The query as a condition on uplynk_assets, its candidates drawn from candidate set `driver`."""
    if not query.criteria:
        return ~false()
    sets = _must_sets(query)
    if not sets:
        return and_(*[_criterion_cond(c) for c in query.criteria])
    ids, skip = sets[driver]
    cond = and_(*[_criterion_cond(c, (skip[1], skip[2]) if skip is not None and skip[0] == ci else None)
                  for ci, c in enumerate(query.criteria)])
    driver_ids = ids[0] if len(ids) == 1 else union(*ids)
    return and_(A.c.id.in_(driver_ids), cond)


def needs_confirmation(query: Query) -> bool:
    """Whether the SQL may return non-matches: phrases it cannot answer exactly from pair rows."""
    return any(t.is_phrase and not _pair_exact(t) for c in query.criteria for t in c.terms)
