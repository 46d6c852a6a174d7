"""The one clock of lynkflow.

Everything time-based (timestamps in answers, signature skew, autoexpire, lifecycle delays,
the change log) reads this clock, so a test or the control plane can freeze, set and advance
time for the whole service at once. Its state (an offset from wall time, or a frozen instant) is
shared through the database (`to_doc`/`apply`), so every process and worker shows the same time.
Job leases deliberately use real monotonic time instead
(see app/jobs): a frozen test clock must never make a healthy worker look dead.

A tenant (lynkflow/tenancy.py) may have a clock of its own: `now_ms()` answers the clock of the
tenant the running request or job works for (a context variable the faces and workers set), and the
instance clock everywhere else. A tenant clock is stored as its own document (`clock:<tenant>`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lynkflow.tenancy import current_tenant


@dataclass(frozen=True)
class ClockState:
    now_ms: int
    frozen: bool
    offset_ms: int


# The name of the clock's document in the shared control-plane state.
CLOCK_DOC = "clock"
# A tenant's own clock is the document `clock:<tenant id>`.
TENANT_CLOCK_PREFIX = "clock:"

# Instants the clock may show: what every consumer (ms columns, ISO dates) can represent.
MIN_MS = 0
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


class ClockRangeError(ValueError):
    """A freeze, set or advance that would move the clock outside 1970..9999."""


def _checked(ms: int) -> int:
    if not MIN_MS <= ms <= MAX_MS:
        raise ClockRangeError(f"the clock must stay between {MIN_MS} (1970-01-01) and {MAX_MS} "
                              f"(9999-12-31) epoch ms; that would make it {ms}")
    return ms


class Clock:
    """Wall time plus an offset, optionally frozen at a fixed instant.

    Every change is handed to `publish` (set by the context: it stores the state for the other
    processes); `apply` takes a state another process stored and publishes nothing.
    """

    def __init__(self, publish: Callable[[dict[str, int | None]], None] | None = None,
                 store: Callable[[str, Any], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._offset_ms = 0
        self._frozen_at_ms: int | None = None
        self.publish = publish
        # Stores a named document (a tenant clock's); set by the context like `publish`.
        self.store = store
        self._tenants: dict[str, Clock] = {}

    def now_ms(self) -> int:
        if self._tenants:  # the common case (no tenant clock anywhere) costs one dict check
            tenant = current_tenant.get()
            if tenant is not None:
                own = self._tenants.get(tenant)
                if own is not None:
                    return own._own_now_ms()
        return self._own_now_ms()

    def _own_now_ms(self) -> int:
        frozen = self._frozen_at_ms
        if frozen is not None:
            return frozen
        return int(time.time() * 1000) + self._offset_ms

    def now(self) -> float:
        """Seconds since the epoch as a float."""
        return self.now_ms() / 1000.0

    def state(self) -> ClockState:
        with self._lock:
            return ClockState(self._own_now_ms(), self._frozen_at_ms is not None, self._offset_ms)

    def freeze(self, at_ms: int | None = None) -> None:
        with self._lock:
            self._frozen_at_ms = self._own_now_ms() if at_ms is None else _checked(int(at_ms))
        self._published()

    def set(self, at_ms: int) -> None:
        """Jump to an instant; keeps running (or stays frozen) from there."""
        with self._lock:
            at_ms = _checked(int(at_ms))
            if self._frozen_at_ms is not None:
                self._frozen_at_ms = at_ms
            else:
                self._offset_ms = at_ms - int(time.time() * 1000)
        self._published()

    def advance(self, ms: int) -> None:
        with self._lock:
            _checked(self._own_now_ms() + int(ms))
            if self._frozen_at_ms is not None:
                self._frozen_at_ms += int(ms)
            else:
                self._offset_ms += int(ms)
        self._published()

    def resume(self) -> None:
        """Run again from the current (possibly shifted) instant."""
        with self._lock:
            if self._frozen_at_ms is not None:
                self._offset_ms = self._frozen_at_ms - int(time.time() * 1000)
                self._frozen_at_ms = None
        self._published()

    def reset(self) -> None:
        with self._lock:
            self._offset_ms = 0
            self._frozen_at_ms = None
        self._published()

    # --- shared between processes (see lynkflow/shared.py) ----------------------------------------

    def _published(self) -> None:
        if self.publish is not None:
            self.publish(self.to_doc())

    def to_doc(self) -> dict[str, int | None]:
        with self._lock:
            return {"offsetMs": self._offset_ms, "frozenAtMs": self._frozen_at_ms}

    def apply(self, doc: dict[str, int | None] | None) -> None:
        """Take the state another process stored (none stored: real time)."""
        doc = doc or {}
        with self._lock:
            self._offset_ms = int(doc.get("offsetMs") or 0)
            frozen = doc.get("frozenAtMs")
            self._frozen_at_ms = None if frozen is None else int(frozen)

    # --- tenant clocks ---------------------------------------------------------------------------

    def tenant(self, tenant_id: str) -> Clock:
        """The clock of one tenant, made on first use from the instance clock's current state; its
        changes are stored as the tenant's document (and so reach every process)."""
        with self._lock:
            own = self._tenants.get(tenant_id)
            if own is None:
                store = self.store
                name = TENANT_CLOCK_PREFIX + tenant_id
                own = Clock(publish=None if store is None else (lambda doc: store(name, doc)))
                own._offset_ms, own._frozen_at_ms = self._offset_ms, self._frozen_at_ms
                self._tenants = {**self._tenants, tenant_id: own}
            return own

    def has_tenant(self, tenant_id: str) -> bool:
        return tenant_id in self._tenants

    def has_tenants(self) -> bool:
        return bool(self._tenants)

    def apply_tenants(self, docs: dict[str, Any]) -> None:
        """Take every tenant clock another process stored; tenants whose document is gone follow the
        instance clock again."""
        found: dict[str, Clock] = {}
        for name, doc in docs.items():
            if name.startswith(TENANT_CLOCK_PREFIX) and isinstance(doc, dict):
                tenant_id = name[len(TENANT_CLOCK_PREFIX):]
                own = self._tenants.get(tenant_id) or Clock(
                    publish=None if self.store is None else (lambda d, n=name: self.store(n, d)))  # type: ignore[misc]
                own.apply(doc)
                found[tenant_id] = own
        with self._lock:
            self._tenants = found
