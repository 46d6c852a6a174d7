"""Uplynk owner API keys: add, enable/disable and delete (no HTTP in here).

An owner may hold several keys; any enabled one verifies a request's `sig`. The api2 face guards
against an owner locking itself out (the last enabled key cannot be disabled or deleted), and
drops its per-process key cache after each change so the change takes effect at once.
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import UplynkApiKey, UplynkOwner, UplynkSubowner

# Secrets are never drawn from the seedable id generator: a predictable key would be no key.
_KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 40


def new_secret() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(KEY_LENGTH))


def _signing_keys_statement():  # noqa: ANN202 - a CompoundSelect
    """The owner row, its enabled keys, then its `api` subowners' keys, as one UNION ALL: the
    signature check reads everything it needs in one round trip."""
    owner = bindparam("owner")
    parts = [
        select(literal(0).label("rank"), UplynkOwner.id.label("key_id"), literal("").label("secret"),
               UplynkOwner.created.label("created")).where(UplynkOwner.id == owner),
        select(literal(1), UplynkApiKey.id, UplynkApiKey.secret, UplynkApiKey.created)
        .where(UplynkApiKey.owner_id == owner, UplynkApiKey.enabled.is_(True)),
        select(literal(2), UplynkSubowner.id, UplynkSubowner.api_key, UplynkSubowner.created)
        .where(UplynkSubowner.owner_id == owner, UplynkSubowner.perm_api.is_(True)),
    ]
    u = union_all(*parts).subquery()
    return select(u.c.rank, u.c.key_id, u.c.secret).order_by(u.c.rank, u.c.created, u.c.key_id)


_SIGNING_KEYS = _signing_keys_statement()


def signing_keys(db: Session, owner_id: str) -> tuple[bool, list[tuple[str, str]]]:
    """(owner exists, [(key id, secret), ...]): the enabled keys, oldest first, then the keys of the
    subowners holding `api` (named `subowner:<id>`, since a subowner signs for its parent)."""
    exists = False
    keys: list[tuple[str, str]] = []
    for rank, key_id, secret in db.execute(_SIGNING_KEYS, {"owner": owner_id}):
        if rank == 0:
            exists = True
        else:
            keys.append((key_id if rank == 1 else f"subowner:{key_id}", secret))
    return exists, keys


def lock_owner(db: Session, owner_id: str) -> UplynkOwner | None:
    """Read the owner row FOR UPDATE (PostgreSQL), so two concurrent changes to one owner's keys
    cannot both pass the "last enabled key" check. SQLite already serialises writers (BEGIN IMMEDIATE)."""
    return db.scalar(select(UplynkOwner).where(UplynkOwner.id == owner_id).with_for_update())


def add_key(db: Session, ctx: AppContext, owner_id: str) -> UplynkApiKey:
    key = UplynkApiKey(id=ids.hex32(), owner_id=owner_id, secret=new_secret(), enabled=True,
                       created=ctx.clock.now_ms())
    db.add(key)
    db.flush()
    return key


def owned_key(db: Session, owner_id: str, key_id: str) -> UplynkApiKey | None:
    key = db.get(UplynkApiKey, key_id)
    return key if key is not None and key.owner_id == owner_id else None


def enabled_count(db: Session, owner_id: str) -> int:
    return int(db.scalar(select(func.count()).select_from(UplynkApiKey)
                         .where(UplynkApiKey.owner_id == owner_id, UplynkApiKey.enabled.is_(True))) or 0)


def is_last_enabled(db: Session, key: UplynkApiKey) -> bool:
    return bool(key.enabled) and enabled_count(db, key.owner_id) <= 1


def set_enabled(db: Session, key: UplynkApiKey, enabled: bool) -> None:
    key.enabled = enabled
    db.flush()


def delete_key(db: Session, key: UplynkApiKey) -> None:
    db.delete(key)
    db.flush()
