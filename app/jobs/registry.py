"""Job kinds and what runs them.

A handler is split in two so lifecycles can hold the visible outcome without holding the work:
`run` does the work (makes the media) and returns a JSON-able result; `finish` makes the outcome
visible (asset ready, event state...). `fail` makes a final failure visible (asset in its error
state, with the reason), so nothing stays "processing" forever. The queue calls `finish` at once
under the `real` lifecycle, after a delay under `delay`, or when a test says so under `manual`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lynkflow.context import AppContext


@dataclass
class JobRun:
    """What a handler's `run` sees: the job, a progress callback and a cancel flag."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    cancel: threading.Event
    report_progress: Callable[[float], None]


RunFn = Callable[[AppContext, JobRun], dict[str, Any]]
FinishFn = Callable[[AppContext, int, dict[str, Any], dict[str, Any]], None]  # ctx, job id, payload, result
FailFn = Callable[[AppContext, int, dict[str, Any], str], None]  # ctx, job id, payload, reason


@dataclass(frozen=True)
class Handler:
    kind: str
    run: RunFn
    finish: FinishFn | None = None
    fail: FailFn | None = None
    lifecycle_group: str = ""  # the name lifecycle policies use, e.g. "gif", "ingest"


_handlers: dict[str, Handler] = {}
_periodic: list[Callable[[AppContext], None]] = []

# Modules that register handlers and periodic tasks when imported.
HANDLER_MODULES = (
    "lynkflow.domain.ingest",
    "lynkflow.domain.uplynk_jobs",
    "lynkflow.domain.uplynk_autoexpire",
    "lynkflow.domain.vis_jobs",
)


def register(handler: Handler) -> Handler:
    _handlers[handler.kind] = handler
    return handler


def periodic(fn: Callable[[AppContext], None]) -> Callable[[AppContext], None]:
    """Register a task the workers' housekeeping loop runs about once a second."""
    if fn not in _periodic:
        _periodic.append(fn)
    return fn


def load_handlers() -> None:
    for name in HANDLER_MODULES:
        importlib.import_module(name)


def get(kind: str) -> Handler | None:
    # An API process without workers still finishes held jobs (control plane complete/fail).
    if kind not in _handlers:
        load_handlers()
    return _handlers.get(kind)


def periodic_tasks() -> list[Callable[[AppContext], None]]:
    return list(_periodic)
