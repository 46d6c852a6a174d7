"""`/api2/subowners/create`, `get`, `list`, `update` and `delete` (reference §5.3).

Each answer about one subowner is flat, as documented: `{"username", "permissions": [...], "api_key",
"all_api_keys": {"<key>": {"enabled": bool}}, "id", "error": 0}`; `list` wraps those in `subowners`.
The password is never returned (only a salted hash is stored).

Choices where the reference is silent (also in docs/parity.md):
- `username` is `prefix.name`: letters, digits, `_` and `-` on each side of the first dot (the name
  may hold further dots), at most 100 characters, case-insensitive (stored lower-cased), unique
  across all accounts. An email address is refused with a hint.
- `permissions` is a list or a comma-separated string, a subset of `slice` and `api`; absent on create
  means none. Answers list them in the order `slice`, `api`.
- A subowner signs with `_owner` = the parent account's user ID and its own `api_key`, and only while
  it holds `api`. `newkey=1` gives it a fresh key; the old one stays listed, disabled, and never signs
  again. Every change drops the parent's cached keys, so it takes effect on the very next request.
- Another account's subowner answers "not found", exactly as an unknown id does.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from lynkflow.db.models import UplynkSubowner
from lynkflow.domain import uplynk_subowners as dom
from lynkflow.uplynk import signing_keys
from lynkflow.uplynk.errors import Api2Error
from lynkflow.uplynk.params import as_str, parse_bool, parse_str_list
from lynkflow.uplynk.transport import Api2Call

MAX_USERNAME = 100
MAX_PASSWORD = 200
_USERNAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9._-]*")
_EXAMPLE = "e.g. acme.jane"


def subowner_dict(sub: UplynkSubowner) -> dict[str, Any]:
    return {"username": sub.username, "permissions": dom.permissions_of(sub), "api_key": sub.api_key,
            "all_api_keys": dom.all_keys(sub), "id": sub.id}


def _username(p: dict[str, Any]) -> str:
    value = p.get("username")
    if value is None or value == "":
        raise Api2Error(f"missing required parameter username (the subowner's login, prefix.name, {_EXAMPLE})")
    name = as_str(value, "username", max_len=MAX_USERNAME).strip().lower()
    if "@" in name:
        raise Api2Error(f"username {name!r} looks like an email address: subowner usernames are prefix.name "
                        f"({_EXAMPLE}), not emails")
    if "." not in name:
        raise Api2Error(f"username {name!r} must be prefix.name, with a dot between your prefix and the name "
                        f"({_EXAMPLE})")
    if not _USERNAME.fullmatch(name) or name.endswith("."):
        raise Api2Error(f"username {name!r} is not a valid prefix.name: use letters, digits, '_' and '-', a dot "
                        f"after the prefix, and no empty part ({_EXAMPLE})")
    return name


def _password(p: dict[str, Any], *, required: bool) -> str | None:
    value = p.get("password")
    if value is None or value == "":
        if required:
            raise Api2Error("missing required parameter password (the subowner's login password)")
        return None
    password = as_str(value, "password", max_len=MAX_PASSWORD)
    if not password.strip():
        raise Api2Error("password must not be blank")
    return password


def _permissions(p: dict[str, Any]) -> list[str] | None:
    """The permissions given, or None when the parameter is absent."""
    value = p.get("permissions")
    if value is None:
        return None
    wanted = [v.lower() for v in parse_str_list(value, "permissions")]
    unknown = [v for v in wanted if v not in dom.PERMISSIONS]
    if unknown:
        raise Api2Error(f"unknown permission(s) {', '.join(repr(u) for u in unknown[:5])}: permissions are a "
                        f"subset of {', '.join(dom.PERMISSIONS)} (a list, or a comma-separated string)")
    return [perm for perm in dom.PERMISSIONS if perm in wanted]


def _subowner_id(p: dict[str, Any]) -> str:
    value = p.get("id")
    if value is None or value == "":
        raise Api2Error("missing required parameter id (the subowner's id, as returned by subowners/create)")
    return as_str(value, "id", max_len=64).strip().lower()


def _own(db: Session, call: Api2Call, sub_id: str, *, lock: bool = False) -> UplynkSubowner:
    sub = dom.find_owned(db, call.owner, sub_id, lock=lock)
    if sub is None:
        raise Api2Error(f"Subowner not found (id {sub_id}): give the id of one of your subowners (subowners/list)")
    return sub


def _forget_keys_after_commit(call: Api2Call) -> None:
    """The parent's cached signing keys go after the commit, so no reader re-caches the old ones."""
    call.after_commit.append(lambda: signing_keys.forget_owner(call.ctx, call.owner))


def create(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    username = _username(p)
    password = _password(p, required=True)
    assert password is not None
    permissions = _permissions(p) or []
    try:
        out = subowner_dict(dom.create(db, call.ctx, call.owner, username, password, permissions))
    except dom.SubownerError as exc:
        raise Api2Error(str(exc)) from None
    _forget_keys_after_commit(call)  # an `api` subowner signs at once
    return out


def get(call: Api2Call, db: Session) -> dict[str, Any]:
    sub_id = _subowner_id(call.params)
    return subowner_dict(_own(db, call, sub_id))


def list_(call: Api2Call, db: Session) -> dict[str, Any]:
    return {"subowners": [subowner_dict(s) for s in dom.list_owned(db, call.owner)]}


def update(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    sub_id = _subowner_id(p)
    # Everything is parsed before anything is written, so a bad parameter changes nothing.
    password = _password(p, required=False)
    permissions = _permissions(p)
    new_key = parse_bool(p["newkey"], "newkey") if p.get("newkey") not in (None, "") else False
    sub = _own(db, call, sub_id, lock=True)
    dom.update(db, call.ctx, sub, password=password, permissions=permissions, new_key=new_key)
    out = subowner_dict(sub)
    _forget_keys_after_commit(call)  # a dropped `api` or old key is refused at once
    return out


def delete(call: Api2Call, db: Session) -> dict[str, Any]:
    sub_id = _subowner_id(call.params)
    dom.delete(db, _own(db, call, sub_id, lock=True))
    _forget_keys_after_commit(call)
    return {"id": sub_id}
