"""Word pairs in the asset search index: what lets a phrase query be answered from an index.

Beside its one row per (asset, field, word), the term index (`uplynk_asset_terms`) holds one row per
pair of adjacent words of a field, under the field's pair name (`PAIR_PREFIX` + field) with the
two words joined by a space as the term. A word never holds a space and no real field starts with
`PAIR_PREFIX`, so a word query (exact, prefix range or LIKE, always filtered by field) never meets
a pair row. A two-word phrase is then exactly "this pair row exists", and a longer one is narrowed
to the assets that hold every pair of it before it is confirmed word by word. So a phrase whose
words are each common but never adjacent costs one index probe, not a scan of every asset holding
them (`lynkflow.uplynk.query_sql` builds the SQL).

Pure functions only; the index rows are written by `lynkflow.domain.uplynk_assets.term_rows`.
"""

from __future__ import annotations

PAIR_PREFIX = "~"
TERM_MAX = 200  # the term column's width (lynkflow.domain.uplynk_assets.TERM_MAX)
FIELD_MAX = 100  # the field column's width
MAX_PAIRS_PER_ASSET = 5000


def pair_field(field: str) -> str:
    return (PAIR_PREFIX + field)[:FIELD_MAX]


def pair_term(first: str, second: str) -> str:
    return f"{first} {second}"[:TERM_MAX]


def pair_is_exact(first: str, second: str) -> bool:
    """Whether the stored pair says exactly these two words (not cut at the column's width)."""
    return len(first) + 1 + len(second) <= TERM_MAX


def pair_rows(asset_id: str, fields: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
    """Index rows of the adjacent word pairs of an asset's (field, word sequence) list."""
    seen: set[tuple[str, str]] = set()
    for field, seq in fields:
        name = pair_field(field)
        for first, second in zip(seq, seq[1:], strict=False):
            seen.add((name, pair_term(first, second)))
        if len(seen) >= MAX_PAIRS_PER_ASSET:
            break
    return [{"asset_id": asset_id, "field": f, "term": t} for f, t in sorted(seen)]
