"""lynkflow's app for granian (`granian --interface asgi --factory granian_app:app`), for the benches only.

Issue #14 asked what the HTTP server itself costs. `bench/peers.py --server granian` and
`bench/load.py --server granian` serve the app `lynkflow serve` serves (same settings from the
environment, same start: collector paused until the lifespan resumes it, the same switch interval)
under granian instead of uvicorn, so the two servers are compared on the product's own routes.
`lynkflow serve` stays on uvicorn: docs/architecture.md ("The HTTP server") has the numbers.
"""

from __future__ import annotations

import sys

from fastapi import FastAPI


def app() -> FastAPI:
    from lynkflow import startgc

    startgc.pause()  # as `lynkflow serve` does; the app's lifespan resumes it
    from lynkflow.cli import SWITCH_INTERVAL
    from lynkflow.config import load_settings
    from lynkflow.context import build_context
    from lynkflow.main import create_app

    sys.setswitchinterval(SWITCH_INTERVAL)
    settings = load_settings()
    return create_app(settings, ctx=build_context(settings))
