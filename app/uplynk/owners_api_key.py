"""`/api2/owners/api-key/add`, `toggle` and `delete` (reference §5.3): the caller's own API keys.

Keys are named by their id (`new_key_id`), never by the secret. An owner cannot lock itself out:
disabling or deleting its last enabled key is refused. Each change drops the owner's entry in the
per-process key cache (app/uplynk/signing_keys.py) after the commit, so a new key signs at once and a
disabled or deleted one is refused at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lynkflow.db.models import UplynkApiKey
from lynkflow.domain import uplynk_owners as dom
from lynkflow.uplynk import signature, signing_keys
from lynkflow.uplynk.errors import Api2Error
from lynkflow.uplynk.params import as_str, parse_bool
from lynkflow.uplynk.transport import Api2Call


def _signed_with(call: Api2Call, key: UplynkApiKey) -> bool:
    """Did this key sign the current request? (False in `off` mode, where no signature is checked.)"""
    return bool(call.sig) and signature.sig_matches(call.msg, call.sig or "", [key.secret])


def _key(db: Session, call: Api2Call, name: str) -> UplynkApiKey:
    value = call.params.get(name)
    if value is None or value == "":
        raise Api2Error(f"missing required parameter {name} (the key's id, as returned in new_key_id)")
    key_id = as_str(value, name, max_len=200).strip()
    key = dom.owned_key(db, call.owner, key_id)
    if key is None:
        raise Api2Error(f"API key not found ({name} {key_id}): give the id of one of your keys (new_key_id), "
                        "not the key itself")
    return key


def _forget_keys_after_commit(call: Api2Call) -> None:
    """The owner's cached signing keys go after the commit, so no reader re-caches the old ones."""
    call.after_commit.append(lambda: signing_keys.forget_owner(call.ctx, call.owner))


def _refuse_lockout(db: Session, call: Api2Call, key: UplynkApiKey, action: str) -> None:
    if not dom.is_last_enabled(db, key):
        return
    who = "it signed this request and " if _signed_with(call, key) else ""
    raise Api2Error(f"cannot {action} API key {key.id}: {who}it is your last enabled key, so no request "
                    "could be signed afterwards; add a key first (owners/api-key/add)")


def add(call: Api2Call, db: Session) -> dict[str, Any]:
    dom.lock_owner(db, call.owner)
    key = dom.add_key(db, call.ctx, call.owner)
    out = {"new_api_key": key.secret, "new_key_id": key.id}
    _forget_keys_after_commit(call)  # the next request reads the new key
    return out


def toggle(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    if p.get("is_enabled") is None or p.get("is_enabled") == "":
        raise Api2Error("missing required parameter is_enabled (1 to enable the key, 0 to disable it)")
    enabled = parse_bool(p["is_enabled"], "is_enabled")
    dom.lock_owner(db, call.owner)
    key = _key(db, call, "key_to_toggle")
    if not enabled:
        _refuse_lockout(db, call, key, "disable")
    dom.set_enabled(db, key, enabled)
    out = {"key_id": key.id, "is_enabled": enabled}
    _forget_keys_after_commit(call)
    return out


def delete(call: Api2Call, db: Session) -> dict[str, Any]:
    dom.lock_owner(db, call.owner)
    key = _key(db, call, "key_to_delete")
    _refuse_lockout(db, call, key, "delete")
    key_id = key.id
    dom.delete_key(db, key)
    _forget_keys_after_commit(call)
    return {"deleted_key_id": key_id}
