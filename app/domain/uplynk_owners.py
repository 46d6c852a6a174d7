"""Uplynk owner API keys: add, enable/disable and delete (no HTTP in here).

An owner may hold several keys; any enabled one verifies a request's `sig`. The api2 face guards
against an owner locking itself out (the last enabled key cannot be disabled or deleted), and
drops its per-process key cache after each change so the change takes effect at once.
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import UplynkApiKey, UplynkOwner

# Secrets are never drawn from the seedable id generator: a predictable key would be no key.
_KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 40


def new_secret() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(KEY_LENGTH))


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
