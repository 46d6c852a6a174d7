"""`/api2/asset/get`, `list`, `update`, `delete`, `changes` (reference §2-§4)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from lynkflow.db.models import UplynkAsset
from lynkflow.domain import uplynk_assets as dom
from lynkflow.uplynk import query as q
from lynkflow.uplynk import query_sql, reads
from lynkflow.uplynk.api import api2, as_str, require
from lynkflow.uplynk.errors import Api2Error
from lynkflow.uplynk.params import ParamError, parse_bool, parse_flag01, parse_int, parse_meta, parse_str_list
from lynkflow.uplynk.render import asset_dicts
from lynkflow.uplynk.transport import Api2Call

MAX_GET = 1000
CHANGES_CAP = 500
# With phrases, candidates found through the index are confirmed in Python; this bounds that work.
MAX_CONFIRM_CANDIDATES = 50_000

ORDER_COLUMNS: dict[str, Any] = {
    "created": UplynkAsset.created,
    "desc": UplynkAsset.desc,
    "duration": UplynkAsset.duration,
    "external_id": UplynkAsset.external_id,
    "id": UplynkAsset.id,
    "lastmod": UplynkAsset.lastmod,
    "source": UplynkAsset.source,
    "state": UplynkAsset.state,
}


# --- get ----------------------------------------------------------------------------------------


@api2("asset/get")
def asset_get(call: Api2Call) -> dict[str, Any]:
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
        row = reads.one_by_id(call.ctx, call.owner, wanted[0])
        if row is not None:  # the hot path: one asset by ID, one query (none more when cached)
            return {"asset": reads.render(call.ctx, None, call.public_base, [row])[0]}
    with call.ctx.engine.connect() as conn:
        if key in ("id", "ids"):
            found = reads.rows_by_ids(conn, call.owner, wanted)
            missing = [w for w in wanted if w not in found]
            if missing:
                # "any of your libraries": assets shared with this owner are readable by ID too.
                shared = conn.execute(reads.shared_select(call.owner).where(UplynkAsset.id.in_(missing)))
                found.update({a.id: a for a in shared})
        else:
            found = reads.rows_by_external_ids(conn, call.owner, wanted)
        rows = [found[w] for w in wanted if w in found]
        if not rows:
            label = key.rstrip("s")
            raise Api2Error(f"Asset(s) not found ({label} {', '.join(wanted[:5])}"
                            f"{'…' if len(wanted) > 5 else ''})")
        docs = reads.render(call.ctx, conn, call.public_base, rows)
    return {"asset": docs[0]} if single else {"assets": docs}


# --- list ---------------------------------------------------------------------------------------


def parse_order(text: Any) -> list[ColumnElement]:
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
        col = ORDER_COLUMNS.get(name)
        if col is None:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise ParamError(f"order: unknown attribute {shown!r}; sort by "
                             + ", ".join(ORDER_COLUMNS) + " (prefix '-' for descending)")
        if name in seen:
            continue
        seen.add(name)
        clauses.append(col.desc() if desc else col.asc())
    if not clauses:
        raise ParamError("order is empty; e.g. '-created'")
    if "id" not in seen:
        clauses.append(UplynkAsset.id.asc())  # a stable order, so skip-based paging never repeats
    return clauses


def _search_cond(text: str) -> ColumnElement[bool]:
    like = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(func.lower(UplynkAsset.desc).like(like, escape="\\"), UplynkAsset.id.like(like, escape="\\"),
               func.lower(UplynkAsset.external_id).like(like, escape="\\"))


def _page(conn, base_stmt, query: q.Query | None, cond, order, limit: int, skip: int) -> list:  # noqa: ANN001
    """`cond`: the query's SQL condition, built once for both pages (its index probes are not per owner)."""
    stmt = base_stmt
    if cond is not None:
        stmt = stmt.where(cond)
    stmt = stmt.order_by(*order)
    if query is None or not query_sql.needs_confirmation(query):
        # Sort and page on IDs only, then read the page's full rows: the sorter never carries
        # every candidate's whole row (meta and all).
        ids = conn.execute(stmt.with_only_columns(UplynkAsset.id).offset(skip).limit(limit)).scalars().all()
        if not ids:
            return []
        by_id = {r.id: r for r in conn.execute(select(reads.A).where(reads.A.c.id.in_(ids)))}
        return [by_id[i] for i in ids if i in by_id]
    out: list = []
    skipped = 0
    for a in conn.execute(stmt.limit(MAX_CONFIRM_CANDIDATES)):
        if q.matches(query, desc=a.desc, asset_id=a.id, external_id=a.external_id, meta=a.meta or {},
                     source=a.source):
            if skipped < skip:
                skipped += 1
                continue
            out.append(a)
            if len(out) >= limit:
                break
    return out


@api2("asset/list")
def asset_list(call: Api2Call) -> dict[str, Any]:
    p = call.params
    limit = parse_int(p["limit"], "limit", low=1, high=100) if p.get("limit") not in (None, "") else 100
    skip = parse_int(p["skip"], "skip", low=0) if p.get("skip") not in (None, "") else 0
    order = parse_order(p.get("order"))
    ignore_shared = parse_bool(p.get("ignore_shared_libraries", False), "ignore_shared_libraries")
    query = None
    if p.get("query") not in (None, ""):
        query = q.parse(as_str(p["query"], "query", max_len=q.MAX_QUERY_CHARS))
    search = p.get("search")
    own = reads.live_select(call.owner)
    shared = reads.shared_select(call.owner)
    if search not in (None, ""):
        cond = _search_cond(as_str(search, "search", max_len=1000))
        own, shared = own.where(cond), shared.where(cond)
    with call.ctx.engine.connect() as conn:
        cond = query_sql.where_clause(query, conn) if query is not None and query.criteria else None
        rows = _page(conn, own, query, cond, order, limit, skip)
        result: dict[str, Any] = {"assets": reads.render(call.ctx, conn, call.public_base, rows)}
        if not ignore_shared:
            shared_rows = _page(conn, shared, query, cond, order, limit, skip)
            result["shared_assets"] = reads.render(call.ctx, conn, call.public_base, shared_rows)
    return result


# --- update -------------------------------------------------------------------------------------


@api2("asset/update", threaded=True)
def asset_update(call: Api2Call) -> dict[str, Any]:
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
        changes["poster"] = dom.prepare_poster("" if value is None else value)
    with call.ctx.session() as db:
        if asset_id not in (None, ""):
            aid = as_str(asset_id, "id", max_len=64)
            asset = dom.find_by_ids(db, call.owner, [aid]).get(aid)
            if asset is None:
                raise Api2Error(f"Asset not found (id {aid})")
            if ext is not None:
                changes["external_id"] = as_str(ext, "external_id", max_len=200).strip()
        else:
            e = as_str(ext, "external_id", max_len=200)
            asset = dom.find_by_external_ids(db, call.owner, [e]).get(e)
            if asset is None:
                raise Api2Error(f"Asset not found (external_id {e})")
        dom.update_asset(db, call.ctx, asset, changes)
        doc = asset_dicts(db, call.public_base, [asset])[0]
    return {"asset": doc}


# --- delete -------------------------------------------------------------------------------------


@api2("asset/delete", threaded=True)
def asset_delete(call: Api2Call) -> dict[str, Any]:
    p = call.params
    ids_ = parse_str_list(p["ids"], "ids") if p.get("ids") not in (None, "", []) else []
    exts = parse_str_list(p["external_ids"], "external_ids") if p.get("external_ids") not in (None, "", []) else []
    if not ids_ and not exts:
        raise Api2Error("give ids and/or external_ids of the assets to delete")
    if len(ids_) + len(exts) > MAX_GET:
        raise Api2Error(f"at most {MAX_GET} assets may be deleted per request")
    with call.ctx.session() as db:
        targets: dict[str, UplynkAsset] = {}
        targets.update(dom.find_by_ids(db, call.owner, ids_))
        # Every live asset carrying a requested external ID goes (duplicates are possible).
        if exts:
            for a in db.scalars(dom.live_assets(call.owner).where(UplynkAsset.external_id.in_(exts))):
                targets[a.id] = a
        if not targets:
            raise Api2Error("Asset(s) not found")
        now = call.ctx.clock.now_ms()
        deleted = []
        for a in targets.values():
            dom.soft_delete(db, call.ctx, a, now)
            deleted.append({"external_id": a.external_id, "id": a.id})
    return {"deleted": deleted}


# --- changes ------------------------------------------------------------------------------------


@api2("asset/changes")
def asset_changes(call: Api2Call) -> dict[str, Any]:
    p = call.params
    start = parse_int(require(p, "start"), "start", low=0)
    now = call.ctx.clock.now_ms()
    end = now
    if p.get("end") not in (None, ""):
        end = min(now, parse_int(p["end"], "end", low=0))
    if start > end:
        return {"changes": [], "assets": {}, "start": start, "end": end}
    with call.ctx.read_session() as db:
        rows, batch_end = dom.changes_since(db, call.owner, start, end, CHANGES_CAP)
    asset_ids = list(dict.fromkeys(r.asset_id for r in rows))
    with call.ctx.engine.connect() as conn:
        assets = conn.execute(select(reads.A).where(reads.A.c.id.in_(asset_ids))).all() if asset_ids else []
        docs = reads.render(call.ctx, conn, call.public_base, assets, include_deleted=True)
    return {
        "changes": [[r.at_ms, r.action, r.asset_id] for r in rows],
        "assets": {d["id"]: d for d in docs},
        "start": start,
        "end": batch_end,
    }
