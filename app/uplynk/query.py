"""The `asset/list` query language: a pure parser into a small AST, and a reference evaluator.

Syntax (CMS search box, reference §3.2)::

    basket            whole word (case-insensitive); words are OR-ed
    basket*  *asket*  wildcards
    "a phrase"        the words in this order
    +word  +"phrase"  required          -word  -"phrase"  excluded
    name: id: external: meta: source:   scope (a space after ':' is optional)
    meta:Field=Value  a named metadata field (Field is case-sensitive)
    a, name: b        ',' separates criteria; every criterion must match

Per criterion: every `+` term must match, no `-` term may match, and when there are no `+`
terms at least one plain term must match (plain terms next to `+` terms do not filter, as in
common search engines). Unscoped terms look at the name, the asset ID and the external ID.

`matches` evaluates a query against one asset's fields in Python. The SQL compiler
(`lynkflow.uplynk.query_sql`) uses the term index to find a superset of matches and, when the query has
phrases, confirms candidates with `matches`; tests compare the two.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from lynkflow.domain.uplynk_assets import field_words, words

SOURCES = ("clip", "event", "file", "live", "rts")
MAX_QUERY_CHARS = 2000
MAX_TERMS = 50


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # lower-case; may contain '*'
    op: str = ""  # "" | "+" | "-"

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True)
class Criterion:
    scope: str  # any | name | id | external | meta | meta:<Field> | source
    terms: tuple[Term, ...]

    @property
    def required(self) -> list[Term]:
        return [t for t in self.terms if t.op == "+"]

    @property
    def excluded(self) -> list[Term]:
        return [t for t in self.terms if t.op == "-"]

    @property
    def optional(self) -> list[Term]:
        return [t for t in self.terms if t.op == ""]


@dataclass(frozen=True)
class Query:
    criteria: tuple[Criterion, ...] = field(default_factory=tuple)

    @property
    def has_phrases(self) -> bool:
        return any(t.is_phrase for c in self.criteria for t in c.terms)


_SCOPE = re.compile(r"^\s*(name|id|external|meta|source)\s*:\s*", re.IGNORECASE)
_WORDISH = re.compile(r"[\w*]+", re.UNICODE)


def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` outside double quotes."""
    parts, buf, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def _term_words(text: str) -> tuple[str, ...]:
    out = []
    for w in _WORDISH.findall(text.lower()):
        w = re.sub(r"\*+", "*", w)
        if w.strip("*") or w == "*":
            out.append(w)
    return tuple(out)


def _tokens(text: str) -> list[Term]:
    terms: list[Term] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        op = ""
        if text[i] in "+-" and i + 1 < n and not text[i + 1].isspace():
            op = text[i]
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            chunk = text[i + 1:end]
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] != '"':
                j += 1
            chunk = text[i:j]
            i = j
        ws = _term_words(chunk)
        if ws:
            terms.append(Term(ws, op))
    return terms


def parse(text: str) -> Query:
    """Parse a query string; raises QueryError with a message for the client."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is longer than {MAX_QUERY_CHARS} characters")
    if text.count('"') % 2:
        raise QueryError('query has an unmatched double quote (")')
    criteria: list[Criterion] = []
    for part in _split_top(text, ","):
        if not part.strip():
            continue
        scope = "any"
        body = part
        m = _SCOPE.match(part)
        if m:
            scope = m.group(1).lower()
            body = part[m.end():]
            if scope == "meta":
                eq = _split_top(body, "=")
                if len(eq) > 1 and not body.lstrip().startswith(('"', "+", "-")):
                    name = eq[0].strip()
                    if not name:
                        raise QueryError("meta:Field=Value needs a field name before '='")
                    scope = "meta:" + name
                    body = "=".join(eq[1:])
                    # A plain multi-word value names one value ("Just Another Value"), not several words.
                    if not re.search(r'["+*]|(^|\s)-', body) and len(_term_words(body)) > 1:
                        body = f'"{body.strip()}"'
        terms = _tokens(body)
        if not terms:
            if m:
                raise QueryError(f"{scope.split(':')[0]}: needs a word to search for")
            continue
        if scope == "source":
            for t in terms:
                if t.is_phrase:
                    raise QueryError("source: takes one of " + ", ".join(SOURCES))
        criteria.append(Criterion(scope, tuple(terms)))
    if sum(len(c.terms) for c in criteria) > MAX_TERMS:
        raise QueryError(f"query has more than {MAX_TERMS} search terms")
    return Query(tuple(criteria))


# --- the reference evaluator ------------------------------------------------------------------


def _word_match(pattern: str, word: str) -> bool:
    if "*" in pattern:
        return fnmatch.fnmatchcase(word, pattern.replace("[", "[[]").replace("?", "[?]"))
    return pattern == word


def _seq_match(pattern: tuple[str, ...], seq: list[str]) -> bool:
    n = len(pattern)
    return any(all(_word_match(p, seq[i + k]) for k, p in enumerate(pattern)) for i in range(len(seq) - n + 1))


def scope_fields(scope: str) -> tuple[str, ...]:
    return ("name", "id", "external") if scope == "any" else (scope,)


def _term_match(term: Term, scope: str, fields: dict[str, list[list[str]]], source: str) -> bool:
    if scope == "source":
        return _word_match(term.words[0], source.lower())
    for f in scope_fields(scope):
        for seq in fields.get(f, []):
            if _seq_match(term.words, seq):
                return True
    return False


def asset_fields(desc: str, asset_id: str, external_id: str, meta: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Field name → word sequences, as the term index sees them."""
    out: dict[str, list[list[str]]] = {}
    for f, seq in field_words(desc, asset_id, external_id, meta):
        out.setdefault(f, []).append(seq)
    return out


def matches(query: Query, *, desc: str, asset_id: str, external_id: str, meta: dict[str, Any],
            source: str) -> bool:
    fields = asset_fields(desc, asset_id, external_id, meta)
    for c in query.criteria:
        hit = [_term_match(t, c.scope, fields, source) for t in c.terms]
        req = [h for t, h in zip(c.terms, hit, strict=True) if t.op == "+"]
        exc = [h for t, h in zip(c.terms, hit, strict=True) if t.op == "-"]
        opt = [h for t, h in zip(c.terms, hit, strict=True) if t.op == ""]
        if not all(req) or any(exc):
            return False
        if opt and not req and not any(opt):
            return False
    return True


__all__ = ["Criterion", "Query", "QueryError", "Term", "matches", "parse", "words", "scope_fields"]
