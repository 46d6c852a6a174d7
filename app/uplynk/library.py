"""`/api2/library/*` (reference §5.2): get, list, update, assets, add, remove, plus two lynkflow extensions.

The real api2 documents `get`, `update` (rename), `list`, `assets`, `add` and `remove`; creating a
library needs v4 there, and sharing is done in the console. `library/create` and `library/share` are
lynkflow extensions so tests and demos can set everything up through one API. Every operation sees
only the caller's own libraries: another owner's library answers "not found", exactly as an
unknown id would, so ids of other accounts cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from lynkflow.db.models import UplynkLibrary
from lynkflow.domain import uplynk_asset_reads as reads
from lynkflow.domain import uplynk_assets as assets_dom
from lynkflow.domain import uplynk_libraries as dom
from lynkflow.domain.uplynk_changes import record_change
from lynkflow.uplynk.errors import Api2Error
from lynkflow.uplynk.params import as_str, parse_int, parse_str_list
from lynkflow.uplynk.render import render_assets
from lynkflow.uplynk.transport import Api2Call

MAX_IDS = 1000
MAX_DESC = 500  # the column's width (uplynk_libraries.desc)
LIST_LIMIT = 100
ASSETS_LIMIT_MAX = 1000


def library_dict(lib: UplynkLibrary, asset_count: int) -> dict[str, Any]:
    """The documented fields (`created`, `desc`, `id`, `lastmod`, `owner`) plus `asset_count` (live assets)."""
    return {"created": lib.created, "desc": lib.desc, "id": lib.id, "lastmod": lib.lastmod,
            "owner": lib.owner_id, "asset_count": asset_count}


def _dicts(db: Session, libs: list[UplynkLibrary]) -> list[dict[str, Any]]:
    counts = dom.asset_counts(db, [lib.id for lib in libs])
    return [library_dict(lib, counts[lib.id]) for lib in libs]


def _library_id(p: dict[str, Any]) -> str:
    value = p.get("id")
    if value is None or value == "":
        raise Api2Error("missing required parameter id (the library's id)")
    return as_str(value, "id", max_len=64).strip()


def _own_library(db: Session, call: Api2Call, library_id: str, *, lock: bool = False) -> UplynkLibrary:
    lib = dom.find_owned(db, call.owner, [library_id], lock=lock).get(library_id)
    if lib is None:
        raise Api2Error(f"Library not found (id {library_id})")
    return lib


def _desc(p: dict[str, Any]) -> str:
    value = p.get("desc")
    if value is None:
        raise Api2Error("missing required parameter desc (the library's name)")
    desc = as_str(value, "desc", max_len=MAX_DESC).strip()
    if not desc:
        raise Api2Error("desc must not be empty: give the library a name")
    return desc


def _paging(p: dict[str, Any], high: int) -> tuple[int, int]:
    limit = parse_int(p["limit"], "limit", low=1, high=high) if p.get("limit") not in (None, "") else LIST_LIMIT
    skip = parse_int(p["skip"], "skip", low=0) if p.get("skip") not in (None, "") else 0
    return limit, skip


def _asset_ids(p: dict[str, Any]) -> list[str]:
    one, many = p.get("asset_id"), p.get("asset_ids")
    has_one, has_many = one not in (None, ""), many not in (None, "", [])
    if has_one and has_many:
        raise Api2Error("give asset_id or asset_ids, not both")
    if not has_one and not has_many:
        raise Api2Error("give asset_id (one asset) or asset_ids (a list) of the assets to add or remove")
    wanted = [as_str(one, "asset_id", max_len=64).strip()] if has_one else parse_str_list(many, "asset_ids")
    wanted = list(dict.fromkeys(wanted))
    if not wanted:
        raise Api2Error("asset_ids is empty")
    if len(wanted) > MAX_IDS:
        raise Api2Error(f"at most {MAX_IDS} assets per request (got {len(wanted)})")
    return wanted


def _own_assets(db: Session, call: Api2Call, wanted: list[str]) -> None:
    """Every id must be one of the caller's live assets; all are checked before anything is written."""
    found = assets_dom.find_by_ids(db, call.owner, wanted)
    missing = [a for a in wanted if a not in found]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise Api2Error(f"Asset(s) not found in your account: {shown}; nothing was changed "
                        "(only your own, not deleted assets can be added to or removed from your libraries)")


def _record_membership_change(db: Session, call: Api2Call, changed: list[str]) -> None:
    # `libraries` is part of the asset's rendering, so asset/changes reports it like any update.
    for a in assets_dom.by_ids(db, changed):
        record_change(db, call.ctx, a, "update")


# --- read -----------------------------------------------------------------------------------------


def get(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    has_id, has_ids = p.get("id") not in (None, ""), p.get("ids") not in (None, "", [])
    if has_id and has_ids:
        raise Api2Error("give id or ids, not both")
    if not has_id and not has_ids:
        raise Api2Error("give id (one library) or ids (a list of libraries)")
    wanted = [_library_id(p)] if has_id else list(dict.fromkeys(parse_str_list(p["ids"], "ids")))
    if len(wanted) > MAX_IDS:
        raise Api2Error(f"at most {MAX_IDS} libraries per request (got {len(wanted)})")
    found = dom.find_owned(db, call.owner, wanted)
    libs = [found[w] for w in wanted if w in found]
    if not libs:
        raise Api2Error(f"Library(ies) not found (id {', '.join(wanted[:5])}{'…' if len(wanted) > 5 else ''})")
    docs = _dicts(db, libs)
    return {"library": docs[0]} if has_id else {"libraries": docs}


def list_(call: Api2Call, db: Session) -> dict[str, Any]:
    limit, skip = _paging(call.params, LIST_LIMIT)
    libs = dom.list_owned(db, call.owner, limit, skip)
    return {"libraries": _dicts(db, libs)}


def assets(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    library_id = _library_id(p)
    limit, skip = _paging(p, ASSETS_LIMIT_MAX)
    _own_library(db, call, library_id)
    rows = reads.library_page(db, library_id, limit, skip)
    return {"assets": render_assets(call.ctx, db, call.public_base, rows)}


# --- write ----------------------------------------------------------------------------------------


def update(call: Api2Call, db: Session) -> dict[str, Any]:
    library_id = _library_id(call.params)
    desc = _desc(call.params)
    lib = _own_library(db, call, library_id, lock=True)
    dom.rename_library(db, call.ctx, lib, desc)
    return {"library": _dicts(db, [lib])[0]}


def _change_membership(call: Api2Call, db: Session, change: Callable[..., list[str]], key: str) -> dict[str, Any]:
    """library/add and library/remove: every asset is checked before `change` writes anything."""
    library_id = _library_id(call.params)
    wanted = _asset_ids(call.params)
    lib = _own_library(db, call, library_id, lock=True)
    _own_assets(db, call, wanted)
    changed = change(db, call.ctx, library_id, wanted)
    _record_membership_change(db, call, changed)
    return {"library": _dicts(db, [lib])[0], key: changed}


def add(call: Api2Call, db: Session) -> dict[str, Any]:
    return _change_membership(call, db, dom.add_to_library, "added")


def remove(call: Api2Call, db: Session) -> dict[str, Any]:
    return _change_membership(call, db, dom.remove_from_library, "removed")


# --- lynkflow extensions --------------------------------------------------------------------------


def create(call: Api2Call, db: Session) -> dict[str, Any]:
    """lynkflow extension (the real service creates libraries only through v4)."""
    desc = _desc(call.params)
    lib = dom.create_library(db, call.ctx, call.owner, desc)
    return {"library": library_dict(lib, 0)}


def share(call: Api2Call, db: Session) -> dict[str, Any]:
    """lynkflow extension: share the caller's library with another owner (its assets then appear in
    that owner's asset/list `shared_assets` and are readable there by id)."""
    p = call.params
    library_id = _library_id(p)
    other = p.get("owner")
    if other is None or other == "":
        raise Api2Error("missing required parameter owner (the user ID to share the library with)")
    other = as_str(other, "owner", max_len=64).strip().lower()
    # Ownership first: another owner's library is "not found", whatever else is wrong.
    lib = _own_library(db, call, library_id, lock=True)
    if other == call.owner:
        raise Api2Error("a library cannot be shared with its own owner; give another owner's user ID")
    if not dom.owner_exists(db, other):
        raise Api2Error(f"unknown owner {other!r}: no such user ID to share with")
    dom.share_library(db, library_id, other)
    return {"library": _dicts(db, [lib])[0], "shared_with": dom.shared_with(db, library_id)}
