"""Uplynk subowners: limited logins attached to an account (no HTTP in here).

A subowner has a `prefix.name` username (unique across all accounts, like any login name), a
password kept only as a salted scrypt hash, permissions (`slice`, `api`) and an API key. Rotating
the key keeps the old ones listed as disabled (they never sign again); the list is capped so
repeated rotation cannot grow a row without bound. Which keys sign for the parent account is
decided by app/uplynk/signing_keys.py (the current key, while `api` is held).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import UplynkSubowner
from lynkflow.domain.uplynk_owners import new_secret

PERMISSIONS = ("slice", "api")  # the documented set, in the order answers list them
MAX_OLD_KEYS = 20

# scrypt cost: 16 MiB and a few tens of ms per hash, which is plenty for a local stand-in and keeps
# tests quick; the parameters are stored with each hash so they can change without a migration.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class SubownerError(ValueError):
    """A subowner change that cannot be made (e.g. the username is taken), with the reason."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(digest) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def permissions_of(sub: UplynkSubowner) -> list[str]:
    held = {"slice": sub.perm_slice, "api": sub.perm_api}
    return [p for p in PERMISSIONS if held[p]]


def all_keys(sub: UplynkSubowner) -> dict[str, dict[str, bool]]:
    """The current key first; it is `enabled` exactly when it signs (the subowner holds `api`)."""
    out = {sub.api_key: {"enabled": bool(sub.perm_api)}}
    for old in sub.old_api_keys or []:
        out.setdefault(old, {"enabled": False})
    return out


def username_taken(db: Session, username: str) -> bool:
    return db.scalar(select(UplynkSubowner.id).where(UplynkSubowner.username == username)) is not None


def create(db: Session, ctx: AppContext, owner_id: str, username: str, password: str,
           permissions: list[str]) -> UplynkSubowner:
    if username_taken(db, username):
        raise SubownerError(f"username {username!r} is already taken; choose another prefix.name")
    now = ctx.clock.now_ms()
    sub = UplynkSubowner(id=ids.hex32(), owner_id=owner_id, username=username, password_hash=hash_password(password),
                         perm_slice="slice" in permissions, perm_api="api" in permissions, api_key=new_secret(),
                         old_api_keys=[], created=now, lastmod=now)
    db.add(sub)
    try:
        db.flush()
    except IntegrityError:
        # Another request took the name between our check and our insert.
        raise SubownerError(f"username {username!r} is already taken; choose another prefix.name") from None
    return sub


def find_owned(db: Session, owner_id: str, sub_id: str, *, lock: bool = False) -> UplynkSubowner | None:
    stmt = select(UplynkSubowner).where(UplynkSubowner.id == sub_id, UplynkSubowner.owner_id == owner_id)
    if lock:
        stmt = stmt.with_for_update()
    return db.scalar(stmt)


def list_owned(db: Session, owner_id: str) -> list[UplynkSubowner]:
    return list(db.scalars(select(UplynkSubowner).where(UplynkSubowner.owner_id == owner_id)
                           .order_by(UplynkSubowner.created, UplynkSubowner.id)))


def update(db: Session, ctx: AppContext, sub: UplynkSubowner, *, password: str | None = None,
           permissions: list[str] | None = None, new_key: bool = False) -> None:
    if password is not None:
        sub.password_hash = hash_password(password)
    if permissions is not None:
        sub.perm_slice = "slice" in permissions
        sub.perm_api = "api" in permissions
    if new_key:
        # A new list object, so the JSON column is seen as changed.
        sub.old_api_keys = ([sub.api_key] + list(sub.old_api_keys or []))[:MAX_OLD_KEYS]
        sub.api_key = new_secret()
    sub.lastmod = ctx.clock.now_ms()
    db.flush()


def delete(db: Session, sub: UplynkSubowner) -> None:
    db.delete(sub)
    db.flush()
