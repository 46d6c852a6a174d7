"""Tenants: an isolated Uplynk owner + API key and a VIS key + default vuflow, made in one call.

A tenant's data is found through the owner/key columns every table already indexes, so emptying
one tenant (`reset_tenant`) touches only its own rows, whatever the other tenants hold. The
control-plane state a tenant may own (its clock, lifecycles, journal mark, fault rules, stubs) is
named after its id and removed with it (lynkflow/control/tenants.py).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, select

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import ControlTenant, UplynkApiKey, UplynkOwner, UplynkSubowner, VisApiKey, VisVuflow
from lynkflow.domain import reset as resets
from lynkflow.domain.uplynk_owners import new_secret
from lynkflow.domain.vis_vuflows import default_vuflow_id, ensure_default_vuflow
from lynkflow.shared import bump

MAX_NAME_CHARS = 200


class TenantNotFound(LookupError):
    """No tenant with this id."""


def _describe(tenant: ControlTenant, secret: str | None) -> dict[str, Any]:
    return {"id": tenant.id, "name": tenant.name, "created": tenant.created,
            "uplynk": {"owner": tenant.owner_id, "apiKey": secret},
            "vis": {"apiKey": tenant.vis_key, "vuflowId": tenant.vuflow_id}}


def create_tenant(ctx: AppContext, name: str = "") -> dict[str, Any]:
    """A fresh owner (with one enabled API key), VIS key and default vuflow; the credentials."""
    now = ctx.clock.now_ms()
    tenant_id, owner_id, secret = ids.hex32(), ids.hex32(), new_secret()
    # Secrets never come from the seedable id generator (a predictable key is no key).
    vis_key = "t-" + secrets.token_hex(16)
    vuflow_id = default_vuflow_id(vis_key)  # every VIS key's default vuflow (domain/vis_vuflows.py)
    with ctx.session() as db:
        db.add(UplynkOwner(id=owner_id, name=name or f"tenant {tenant_id[:8]}", created=now))
        db.add(VisApiKey(key=vis_key, name=name or f"tenant {tenant_id[:8]}", created=now))
        db.flush()
        db.add(UplynkApiKey(id=ids.hex32(), owner_id=owner_id, secret=secret, enabled=True, created=now))
        ensure_default_vuflow(db, vis_key, now)
        tenant = ControlTenant(id=tenant_id, name=name, owner_id=owner_id, vis_key=vis_key,
                               vuflow_id=vuflow_id, created=now)
        db.add(tenant)
        bump(db)  # every process's tenant directory reloads
        db.flush()
        return _describe(tenant, secret)


def _get(db: Any, tenant_id: str) -> ControlTenant:
    tenant = db.get(ControlTenant, tenant_id) if len(tenant_id) <= 32 and tenant_id.isalnum() else None
    if tenant is None:
        raise TenantNotFound(f"no tenant {tenant_id[:64]!r}")
    return tenant


def get_tenant(ctx: AppContext, tenant_id: str) -> dict[str, Any]:
    with ctx.read_session() as db:
        tenant = _get(db, tenant_id)
        secret = db.scalar(select(UplynkApiKey.secret).where(UplynkApiKey.owner_id == tenant.owner_id,
                                                             UplynkApiKey.enabled.is_(True))
                           .order_by(UplynkApiKey.created).limit(1))
        return _describe(tenant, secret)


def list_tenants(ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.read_session() as db:
        tenants = list(db.scalars(select(ControlTenant).order_by(ControlTenant.created, ControlTenant.id)))
        return [_describe(t, None) for t in tenants]


def reset_tenant(ctx: AppContext, tenant_id: str) -> dict[str, Any]:
    """Empty a tenant: its Uplynk and VIS data go, its credentials and default vuflow stay."""
    with ctx.read_session() as db:
        tenant = _get(db, tenant_id)
        owner_id, vis_key = tenant.owner_id, tenant.vis_key
    # reset_vis_key gives the key its default vuflow back, with the same (name-based) id.
    removed = {"uplynk": resets.reset_uplynk_owner(ctx, owner_id), "vis": resets.reset_vis_key(ctx, vis_key)}
    with ctx.session() as db:
        # Subowners are the account's logins: a tenant made empty has none (its own key stays).
        removed["uplynk"]["subowners"] = db.execute(
            delete(UplynkSubowner).where(UplynkSubowner.owner_id == owner_id)).rowcount
    return removed


def delete_tenant(ctx: AppContext, tenant_id: str) -> dict[str, Any]:
    """Remove a tenant's data and then its owner, keys, subowners and VIS key."""
    removed = reset_tenant(ctx, tenant_id)
    with ctx.session() as db:
        tenant = _get(db, tenant_id)
        # Children first, so this works with or without ON DELETE CASCADE (SQLite without the pragma).
        db.execute(delete(UplynkSubowner).where(UplynkSubowner.owner_id == tenant.owner_id))
        db.execute(delete(UplynkApiKey).where(UplynkApiKey.owner_id == tenant.owner_id))
        db.execute(delete(VisVuflow).where(VisVuflow.api_key == tenant.vis_key))
        db.execute(delete(UplynkOwner).where(UplynkOwner.id == tenant.owner_id))
        db.execute(delete(VisApiKey).where(VisApiKey.key == tenant.vis_key))
        db.delete(tenant)
        bump(db)
    return removed
