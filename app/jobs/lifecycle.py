"""Lifecycle policies: how long processing appears to take, per job kind group.

- `real`: the outcome is visible as soon as the work is done.
- `delay`: visible N seconds of lynkflow clock after the work is done.
- `manual`: held until a test completes or fails the job through the control plane.

The media is always really made; only the visible state change is held. The policies are one
document of the shared control-plane state (lynkflow/shared.py), so a policy set through any API
process is honoured by every worker, in any process on any host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lynkflow.shared import SharedState
from lynkflow.tenancy import current_tenant

DOC = "lifecycles"

# The job kinds a lifecycle is set for (PUT /_lynkflow/lifecycles/{group}); "*" stands for all of them.
GROUPS = ("ingest", "gif", "video", "image", "export")


@dataclass(frozen=True)
class Lifecycle:
    mode: str = "real"  # real | delay | manual
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("real", "delay", "manual"):
            raise ValueError("lifecycle mode must be real, delay or manual")
        if self.seconds < 0:
            raise ValueError("lifecycle seconds must not be negative")


class Lifecycles:
    """The instance's policies, or one tenant's (`tenant=`: its own document `lifecycles:<id>`).

    Reading through the instance's set inside a tenant's job answers that tenant's policies when it
    has set any (lynkflow/tenancy.py), so a tenant holding its GIFs holds no one else's.
    """

    def __init__(self, shared: SharedState, tenant: str | None = None) -> None:
        self.shared = shared
        self.tenant = tenant
        self.doc = DOC if tenant is None else f"{DOC}:{tenant}"

    def _policies(self) -> dict[str, Any]:
        # A tenant that set no policy of its own follows the instance's.
        tenant = self.tenant if self.tenant is not None else current_tenant.get()
        if tenant is not None:
            own = self.shared.get(f"{DOC}:{tenant}")
            if own is not None:
                return own
        return self.shared.get(DOC) or {}

    def get(self, group: str) -> Lifecycle:
        """The policy for a group as of the last refresh (callers refresh before relying on it)."""
        policies = self._policies()
        doc = policies.get(group) or policies.get("*")
        return Lifecycle(**doc) if doc else Lifecycle()

    def set(self, group: str, policy: Lifecycle) -> None:
        self.set_many({group: policy})

    def set_many(self, policies: dict[str, Lifecycle]) -> None:
        """Change these groups, keep the others."""
        self.shared.refresh()
        self.replace({**self.all(), **policies})

    def replace(self, policies: dict[str, Lifecycle]) -> None:
        """Exactly these policies; groups not named are `real` again."""
        self.shared.put(self.doc, {g: {"mode": p.mode, "seconds": p.seconds} for g, p in policies.items()})

    def all(self) -> dict[str, Lifecycle]:
        return {g: Lifecycle(**doc) for g, doc in self._policies().items()}

    def clear(self) -> None:
        self.shared.put(self.doc, {})
