"""`/api2/asset/get`, `list`, `update`, `delete`, `changes` (reference §2-§4)."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, or_
from sqlalchemy.orm import Session

from lynkflow import jsondoc
from lynkflow.db.like import ESCAPE, escape_like
from lynkflow.db.models import UplynkAsset
from lynkflow.domain import uplynk_asset_reads as reads
from lynkflow.domain import uplynk_assets as dom
from lynkflow.domain import uplynk_changes, uplynk_posters
from lynkflow.uplynk import query as q
from lynkflow.uplynk import query_sql
from lynkflow.uplynk.encoded import EncodedAnswer
from lynkflow.uplynk.errors import Api2Error
from lynkflow.uplynk.params import (
    ParamError,
    as_str,
    parse_bool,
    parse_flag01,
    parse_int,
    parse_meta,
    parse_str_list,
    require,
)
from lynkflow.uplynk.render import render_asset_texts, render_assets, render_one_text_by_id
from lynkflow.uplynk.transport import Api2Call

# Core columns, not ORM attributes: a list query is then pure Core and skips the ORM compile step.
A = UplynkAsset.__table__
MAX_GET = 1000
CHANGES_CAP = 500
# With phrases, candidates found through the index are confirmed in Python; this bounds that work.
MAX_CONFIRM_CANDIDATES = 50_000

ORDER_COLUMNS: dict[str, Any] = {
    "created": A.c.created,
    "desc": A.c.desc,
    "duration": A.c.duration,
    "external_id": A.c.external_id,
    "id": A.c.id,
    "lastmod": A.c.lastmod,
    "source": A.c.source,
    "state": A.c.state,
}


# --- get ----------------------------------------------------------------------------------------


def get(call: Api2Call, db: Session) -> dict[str, Any] | EncodedAnswer:
    p = call.params
    given = [k for k in ("id", "external_id", "ids", "external_ids") if p.get(k) not in (None, "", [])]
    if not given:
        raise Api2Error("give one of id, external_id, ids or external_ids")
    if len(given) > 1:
        raise Api2Error(f"give only one of id, external_id, ids or external_ids (got {', '.join(given)})")
    key = given[0]
    single = key in ("id", "external_id")
    wanted = [as_str(p[key], key, max_len=200)] if single else parse_str_list(p[key], key)
    wanted = list(dict.fromkeys(wanted))  # each asset is reported once
    if len(wanted) > MAX_GET:
        raise Api2Error(f"at most {MAX_GET} assets may be retrieved per request (got {len(wanted)})")
    if key == "id":
        text = render_one_text_by_id(call.ctx, call.owner, wanted[0], call.public_base)
        if text is not None:  # the hot path: one asset by ID, one statement (none more when cached)
            return EncodedAnswer({"asset": text})
        found = reads.shared_by_ids(db, call.owner, wanted)  # not the caller's own: it was just looked up
    elif key == "ids":
        found = reads.rows_by_ids(db, call.owner, wanted)
    else:
        found = reads.rows_by_external_ids(db, call.owner, wanted)
    rows = [found[w] for w in wanted if w in found]
    if not rows:
        label = key.rstrip("s")
        raise Api2Error(f"Asset(s) not found ({label} {', '.join(wanted[:5])}"
                        f"{'…' if len(wanted) > 5 else ''})")
    docs = render_assets(call.ctx, db, call.public_base, rows)
    return {"asset": docs[0]} if single else {"assets": docs}


# --- list ---------------------------------------------------------------------------------------


Order = tuple[tuple[str, bool], ...]  # (attribute, descending) pairs, "id" among them; hashable


def parse_order(text: Any) -> Order:
    """`order` = Attr[,Attr...] with '-' for descending; only the documented attributes."""
    if text is None or text == "":
        text = "-created"
    if not isinstance(text, str):
        raise ParamError("order must be a string such as '-created' or '-duration,desc'")
    clauses = []
    seen = set()
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        desc = item.startswith("-")
        name = item.lstrip("-").strip()
        if name.startswith("+"):
            name = name[1:]
        if name not in ORDER_COLUMNS:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise ParamError(f"order: unknown attribute {shown!r}; sort by "
                             + ", ".join(ORDER_COLUMNS) + " (prefix '-' for descending)")
        if name in seen:
            continue
        seen.add(name)
        clauses.append((name, desc))
    if not clauses:
        raise ParamError("order is empty; e.g. '-created'")
    if "id" not in seen:
        clauses.append(("id", False))  # a stable order, so skip-based paging never repeats
    return tuple(clauses)


def _search_cond(text: str) -> ColumnElement[bool]:
    like = "%" + escape_like(text.lower()) + "%"
    return or_(func.lower(A.c.desc).like(like, escape=ESCAPE), A.c.id.like(like, escape=ESCAPE),
               func.lower(A.c.external_id).like(like, escape=ESCAPE))


class _ListStatements(NamedTuple):
    """The statements of one asset/list: own and shared assets, in order (full rows, for a query
    whose matches are confirmed in Python), the page of own assets (`reads.paged`) and the pages of
    own and shared assets together (`reads.paged_pair`: one statement)."""

    own: Select
    shared: Select
    own_page: Select
    both_pages: Select


# Built once per distinct list: a repeated list (the usual case: the same search from many clients,
# page after page) constructs no statement and computes no SQLAlchemy cache key (both memoized on
# the objects). Every argument is part of the key; none is data read from the database.
@functools.lru_cache(maxsize=256)
def _list_statements(owner: str, query: q.Query | None, driver: int, search: str | None,
                     order: Order) -> _ListStatements:
    own = reads.live_assets(owner)
    shared = reads.shared_assets(owner)
    conds = []
    if search is not None:
        conds.append(_search_cond(search))
    if query is not None and query.criteria:
        conds.append(query_sql.where_clause(query, driver))
    by = [ORDER_COLUMNS[name].desc() if desc else ORDER_COLUMNS[name].asc() for name, desc in order]
    own, shared = own.where(*conds), shared.where(*conds)
    return _ListStatements(own.order_by(*by), shared.order_by(*by), reads.paged(own, by),
                           reads.paged_pair(own, shared, by))


def _page_reads(call: Api2Call) -> reads.PageReads:
    ctx = call.ctx
    return ctx.services.get(reads.PageReads, lambda: reads.PageReads(ctx.engine))


def _confirmed_page(db: Session, ordered: Select, query: q.Query, limit: int, skip: int) -> list:
    """A page of a query whose SQL may return non-matches: candidates in order, confirmed in Python."""
    out: list = []
    skipped = 0
    for a in db.execute(ordered.limit(MAX_CONFIRM_CANDIDATES)):
        if q.matches(query, desc=a.desc, asset_id=a.id, external_id=a.external_id, meta=a.meta or {},
                     source=a.source):
            if skipped < skip:
                skipped += 1
                continue
            out.append(a)
            if len(out) >= limit:
                break
    return out


# The same few queries arrive over and over; a Query is frozen, so a parse can be shared (a text
# that does not parse raises each time: exceptions are not cached).
_parse_query = functools.lru_cache(maxsize=256)(q.parse)


def list_(call: Api2Call, db: Session) -> EncodedAnswer:
    p = call.params
    limit = parse_int(p["limit"], "limit", low=1, high=100) if p.get("limit") not in (None, "") else 100
    skip = parse_int(p["skip"], "skip", low=0) if p.get("skip") not in (None, "") else 0
    order = parse_order(p.get("order"))
    ignore_shared = parse_bool(p.get("ignore_shared_libraries", False), "ignore_shared_libraries")
    query = None
    if p.get("query") not in (None, ""):
        query = _parse_query(as_str(p["query"], "query", max_len=q.MAX_QUERY_CHARS))
    search = p.get("search")
    search = as_str(search, "search", max_len=1000) if search not in (None, "") else None
    # The driver's index probes are not per owner: chosen once for both pages. `db` is the dispatcher's
    # LazySession: reading `db.connection` itself would make the Session, so only the lambda touches it.
    driver = (query_sql.choose_driver(query, lambda: db.connection()) if query is not None and query.criteria
              else 0)
    stmts = _list_statements(call.owner, query, driver, search, order)
    if query is not None and query_sql.needs_confirmation(query):
        rows = _confirmed_page(db, stmts.own, query, limit, skip)
        shared_rows = None if ignore_shared else _confirmed_page(db, stmts.shared, query, limit, skip)
    elif ignore_shared:
        # The usual cases: one autocommit statement, outside the session.
        rows, shared_rows = _page_reads(call).page(stmts.own_page, limit, skip), None
    else:
        # Own assets are the caller's, shared ones another owner's (`reads.shared_assets`): that tells
        # the two pages of the one statement apart.
        both = _page_reads(call).page(stmts.both_pages, limit, skip)
        rows = [r for r in both if r.owner_id == call.owner]
        shared_rows = [r for r in both if r.owner_id != call.owner]
    base = call.public_base  # computed from the request each time it is read
    # The answer is joined from each asset's cached text: encoding the whole page was the largest cost.
    fields = {"assets": jsondoc.join_array(render_asset_texts(call.ctx, db, base, rows))}
    if shared_rows is not None:
        fields["shared_assets"] = jsondoc.join_array(render_asset_texts(call.ctx, db, base, shared_rows))
    return EncodedAnswer(fields)


# --- update -------------------------------------------------------------------------------------


def update(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    asset_id = p.get("id")
    ext = p.get("external_id")
    if asset_id in (None, "") and ext in (None, ""):
        raise Api2Error("give id (or external_id) to say which asset to update")
    changes: dict[str, Any] = {}
    if "desc" in p:
        changes["desc"] = as_str(p["desc"] if p["desc"] is not None else "", "desc", max_len=1000)
    if "meta" in p:
        changes["meta"] = parse_meta(p["meta"])
    if "require_drm" in p:
        changes["require_drm"] = parse_flag01(p["require_drm"], "require_drm")
    if "require_studio_drm" in p:
        changes["require_studio_drm"] = parse_flag01(p["require_studio_drm"], "require_studio_drm")
    if "autoexpire" in p:
        changes["autoexpire"] = parse_int(p["autoexpire"] if p["autoexpire"] != "" else 0, "autoexpire", low=0)
    if "test_player_url" in p:
        changes["test_player"] = True
    if "embed_player_url" in p:
        changes["embed_player"] = True
    if "poster_img" in p:
        value = p["poster_img"]
        changes["poster"] = uplynk_posters.prepare_poster("" if value is None else value)
    if asset_id not in (None, ""):
        aid = as_str(asset_id, "id", max_len=64)
        row = dom.live_row_by_id(db, call.owner, aid)
        if row is None:
            raise Api2Error(f"Asset not found (id {aid})")
        if ext is not None:
            changes["external_id"] = as_str(ext, "external_id", max_len=200).strip()
    else:
        e = as_str(ext, "external_id", max_len=200)
        row = dom.live_row_by_external_id(db, call.owner, e)
        if row is None:
            raise Api2Error(f"Asset not found (external_id {e})")
    asset = dom.update_asset(db, call.ctx, row, changes)
    return {"asset": render_assets(call.ctx, db, call.public_base, [asset])[0]}


# --- delete -------------------------------------------------------------------------------------


def delete(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    ids_ = parse_str_list(p["ids"], "ids") if p.get("ids") not in (None, "", []) else []
    exts = parse_str_list(p["external_ids"], "external_ids") if p.get("external_ids") not in (None, "", []) else []
    if not ids_ and not exts:
        raise Api2Error("give ids and/or external_ids of the assets to delete")
    if len(ids_) + len(exts) > MAX_GET:
        raise Api2Error(f"at most {MAX_GET} assets may be deleted per request")
    targets: dict[str, UplynkAsset] = {}
    targets.update(dom.find_by_ids(db, call.owner, ids_))
    # Every live asset carrying a requested external ID goes (duplicates are possible).
    targets.update({a.id: a for a in dom.all_by_external_ids(db, call.owner, exts)})
    if not targets:
        raise Api2Error("Asset(s) not found")
    now = call.ctx.clock.now_ms()
    deleted = []
    for a in targets.values():
        dom.soft_delete(db, call.ctx, a, now)
        deleted.append({"external_id": a.external_id, "id": a.id})
    return {"deleted": deleted}


# --- changes ------------------------------------------------------------------------------------


def changes(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    start = parse_int(require(p, "start"), "start", low=0)
    # `start` is the only documented parameter. Some clients also send `end`; like any unknown
    # parameter it is ignored (reference §1.4), so a batch always runs up to now.
    end = call.ctx.clock.now_ms()
    if start > end:
        return {"changes": [], "assets": {}, "start": start, "end": end}
    rows, batch_end = uplynk_changes.changes_since(db, call.owner, start, end, CHANGES_CAP)
    assets = reads.rows_in_order(db, list(dict.fromkeys(r.asset_id for r in rows)))
    docs = render_assets(call.ctx, db, call.public_base, assets, include_deleted=True)
    return {
        "changes": [[r.at_ms, r.action, r.asset_id] for r in rows],
        "assets": {d["id"]: d for d in docs},
        "start": start,
        "end": batch_end,
    }
