"""The cyclic garbage collector paused while a server starts, frozen and resumed once it serves.

A start allocates a few hundred thousand long-lived objects (modules, classes, pydantic schemas,
route state, SQLAlchemy mappers). With the collector on, every 700 new objects start a collection
and the older generations are scanned again and again: ~270 collections, ~80-100 ms of a ~580 ms
start, to free almost nothing (a full collection afterwards finds < 1,000 cyclic objects).

`resume()` then moves everything made so far into the permanent generation (`gc.freeze()`), so
later full collections skip the start-up heap too (shorter pauses while serving), and turns the
collector back on. The few cyclic objects made during the start stay in memory (< 1 MB).
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop automatic collections until `resume()` (a no-op when the collector is already off)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze what the start made and collect again; only undoes this module's own `pause()`."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
