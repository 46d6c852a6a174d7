"""Which tenant a request or job works for: a context variable, and the directory that answers it.

A tenant (POST /_lynkflow/tenants) is an Uplynk owner plus a VIS API key that a test uses alone. Its
data is already apart (Uplynk rows carry `owner_id`, VIS rows `api_key`); what a tenant adds is
control-plane state of its own: a clock, lifecycles, fault rules, stubs, a journal view. Those read
`current_tenant`, which the control middleware sets from the request's credentials (the VIS key
header, the api2 `_owner`) and a worker sets from the job's payload, so the narrowest place that
knows "now" or "which lifecycle" decides per tenant with no parameter threaded through the domain.

`TenantDirectory` is the per-process map credential → tenant id, reloaded when the shared version
says something changed (tenants are rows of `control_tenants`; creating or deleting one bumps it), with
the one cache mechanism the fault rules and stubs use (lynkflow/shared_cache.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple

from lynkflow.shared_cache import SharedCache

if TYPE_CHECKING:
    from lynkflow.shared import SharedState

# The tenant the running request or job works for (None: the instance itself, no tenant).
current_tenant: ContextVar[str | None] = ContextVar("lynkflow_tenant", default=None)

# Job payload member naming the tenant the job was enqueued for (workers restore it).
JOB_TENANT_KEY = "_tenant"


def is_tenant_id(value: object) -> bool:
    """Whether `value` has the shape of a tenant id (letters and digits, at most 32), so it can name
    one in a rule or a query without further checks."""
    return isinstance(value, str) and value.isalnum() and len(value) <= 32


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

    def __init__(self, shared: SharedState) -> None:
        self.shared = shared
        self._maps = SharedCache(shared, self._load, _Maps({}, {}))

    def _load(self) -> _Maps:
        from sqlalchemy import select

        from lynkflow.db.models import ControlTenant

        with self.shared.engine.connect() as conn:
            rows = conn.execute(select(ControlTenant.id, ControlTenant.owner_id, ControlTenant.vis_key)).all()
        return _Maps(by_owner={owner: tid for tid, owner, _ in rows}, by_vis_key={key: tid for tid, _, key in rows})

    def any(self) -> bool:
        """Whether any tenant exists (when none does, requests skip the lookup entirely)."""
        return bool(self._maps.get().by_owner)

    def for_owner(self, owner_id: str) -> str | None:
        return self._maps.get().by_owner.get(owner_id.strip().lower())

    def for_vis_key(self, key: str) -> str | None:
        return self._maps.get().by_vis_key.get(key.strip())

    def owners(self) -> dict[str, str]:
        """owner id → tenant id of every tenant."""
        return dict(self._maps.get().by_owner)


class _Maps(NamedTuple):
    """One load of the directory: both maps come from the same read, so they always agree."""

    by_owner: dict[str, str]
    by_vis_key: dict[str, str]


def get_directory(ctx: Any) -> TenantDirectory:
    return ctx.services.get(TenantDirectory, lambda: TenantDirectory(ctx.shared))


def owners_with_own_clock(ctx: Any) -> dict[str, str]:
    """owner id → tenant id of the tenants whose clock is their own (for periodic work that must
    judge each owner's data by its owner's clock, such as autoexpire)."""
    if not ctx.clock.has_tenants():
        return {}
    return {owner: tenant for owner, tenant in get_directory(ctx).owners().items() if ctx.clock.has_tenant(tenant)}
