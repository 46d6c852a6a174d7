"""Which tenant a request or job works for: a context variable, and the directory that answers it.

A tenant (POST /_lynkflow/tenants) is an Uplynk owner plus a VIS API key that a test uses alone. Its
data is already apart (Uplynk rows carry `owner_id`, VIS rows `api_key`); what a tenant adds is
control-plane state of its own: a clock, lifecycles, fault rules, stubs, a journal view. Those read
`current_tenant`, which the control middleware sets from the request's credentials (the VIS key
header, the api2 `_owner`) and a worker sets from the job's payload, so the narrowest place that
knows "now" or "which lifecycle" decides per tenant with no parameter threaded through the domain.

`TenantDirectory` is the per-process map credential → tenant id, reloaded when the shared version
says something changed (tenants are rows of `control_tenants`; creating or deleting one bumps it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# The tenant the running request or job works for (None: the instance itself, no tenant).
current_tenant: ContextVar[str | None] = ContextVar("lynkflow_tenant", default=None)

# Job payload member naming the tenant the job was enqueued for (workers restore it).
JOB_TENANT_KEY = "_tenant"


@contextmanager
def tenant_scope(tenant: str | None) -> Iterator[None]:
    """Run a block as work for `tenant` (its clock, its lifecycles)."""
    token = current_tenant.set(tenant)
    try:
        yield
    finally:
        current_tenant.reset(token)


class TenantDirectory:
    """owner id / VIS key → tenant id, cached per process and refreshed by the shared version."""

    def __init__(self, shared: Any) -> None:
        self.shared = shared
        self._lock = threading.Lock()
        self._stale = True
        self._by_owner: dict[str, str] = {}
        self._by_vis_key: dict[str, str] = {}
        shared.on_change(self._mark_stale)

    def _mark_stale(self, _docs: dict[str, Any]) -> None:
        self._stale = True

    def _load(self) -> None:
        from sqlalchemy import select

        from lynkflow.db.models import ControlTenant

        with self.shared.engine.connect() as conn:
            rows = conn.execute(select(ControlTenant.id, ControlTenant.owner_id, ControlTenant.vis_key)).all()
        with self._lock:
            self._by_owner = {owner: tid for tid, owner, _ in rows}
            self._by_vis_key = {key: tid for tid, _, key in rows}
            self._stale = False

    def _fresh(self) -> None:
        if self._stale:
            self._load()

    def any(self) -> bool:
        """Whether any tenant exists (when none does, requests skip the lookup entirely)."""
        self._fresh()
        return bool(self._by_owner)

    def for_owner(self, owner_id: str) -> str | None:
        self._fresh()
        return self._by_owner.get(owner_id.strip().lower())

    def for_vis_key(self, key: str) -> str | None:
        self._fresh()
        return self._by_vis_key.get(key.strip())

    def owners(self) -> dict[str, str]:
        """owner id → tenant id of every tenant."""
        self._fresh()
        return dict(self._by_owner)


def get_directory(ctx: Any) -> TenantDirectory:
    return ctx.services.get(TenantDirectory, lambda: TenantDirectory(ctx.shared))


def owners_with_own_clock(ctx: Any) -> dict[str, str]:
    """owner id → tenant id of the tenants whose clock is their own (for periodic work that must
    judge each owner's data by its owner's clock, such as autoexpire)."""
    if not ctx.clock.has_tenants():
        return {}
    return {owner: tenant for owner, tenant in get_directory(ctx).owners().items() if ctx.clock.has_tenant(tenant)}
