"""Lifecycle policies: how long processing appears to take, per job kind group.

- `real`: the outcome is visible as soon as the work is done.
- `delay`: visible N seconds of lynkflow clock after the work is done.
- `manual`: held until a test completes or fails the job through the control plane.

The media is always really made; only the visible state change is held.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

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
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._policies: dict[str, Lifecycle] = {}

    def get(self, group: str) -> Lifecycle:
        with self._lock:
            return self._policies.get(group) or self._policies.get("*") or Lifecycle()

    def set(self, group: str, policy: Lifecycle) -> None:
        with self._lock:
            self._policies[group] = policy

    def all(self) -> dict[str, Lifecycle]:
        with self._lock:
            return dict(self._policies)

    def clear(self) -> None:
        with self._lock:
            self._policies.clear()
