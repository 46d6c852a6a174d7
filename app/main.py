"""`create_app(settings)`: the FastAPI application with every face, the control plane and workers."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lynkflow import __version__
from lynkflow.config import Settings, load_settings
from lynkflow.context import AppContext, build_context
from lynkflow.db.migrate import migrate_to_head
from lynkflow.faces import install_routing_errors
from lynkflow.logging import get_logger
from lynkflow.seeding import apply_seed, ensure_default_accounts, is_seeded, load_seed_file

log = get_logger("main")


def prepare(ctx: AppContext) -> None:
    """Migrate, make sure the default accounts exist and apply the seed to an empty database."""
    from lynkflow import ids

    ids.seed(ctx.settings.seed_random)
    migrate_to_head(ctx.engine)
    ctx.shared.refresh()  # the clock and policies other processes may already have set
    ensure_default_accounts(ctx)
    seed_file = ctx.settings.seed_file
    if seed_file is not None and not is_seeded(ctx):
        counts = apply_seed(ctx, load_seed_file(seed_file))
        log.info("seed applied", extra={"fields": {"seed": str(seed_file), **counts}})


def create_app(settings: Settings | None = None, *, ctx: AppContext | None = None) -> FastAPI:
    settings = settings or load_settings()
    ctx = ctx or build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.seed_applied = False
        prepare(ctx)
        ctx.seed_applied = True
        from lynkflow.db.presence import Presence
        from lynkflow.jobs.workers import WorkerPool

        # A lease row in the database tells `lynkflow reset` that a live server uses it.
        presence = Presence(ctx.engine, "serve", address=ctx.address)
        presence.start()
        pool = WorkerPool(ctx, count=settings.inproc_workers)
        ctx.workers = pool
        pool.start()
        if ctx.on_ready is not None:
            ctx.on_ready()
        from lynkflow import startgc

        startgc.resume()  # `lynkflow serve` paused the collector for its start (lynkflow/startgc.py)
        try:
            yield
        finally:
            pool.stop()
            presence.stop()
            from lynkflow.control.journal import Journal

            journal = ctx.services.peek(Journal)
            if journal is not None:
                journal.close()  # what is still buffered, written
            from lynkflow.domain.uplynk_asset_reads import HotReads
            from lynkflow.domain.uplynk_replay import ReplayGuard

            for own in (ctx.services.peek(ReplayGuard), ctx.services.peek(HotReads)):
                if own is not None:
                    own.close()  # connections of their own, outside the pool
            ctx.shared.close()
            ctx.engine.dispose()

    app = FastAPI(
        docs_url=None,  # /docs and /redoc come from install_docs: no CDN
        redoc_url=None,
        title="lynkflow",
        version=__version__,
        description="A local emulator of the Uplynk api2 and Vualto Vuflow/VIS APIs, with real media.",
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry looks up three global providers on every request (~6 µs, 7 % of
        # the trivial route in-process) to find none configured: lynkflow configures none and documents none.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.ctx = ctx
    _mount(app)
    from lynkflow.web.apidocs import install_docs
    install_docs(app)  # after the API routes: those are matched first, on every call
    install_routing_errors(app)
    from lynkflow.bodylimit import BodyLimit
    app.add_middleware(BodyLimit)  # every body capped while it streams (lynkflow.limits)
    from lynkflow.openapi import install_openapi
    install_openapi(app)  # tags, security schemes and documentation models in /openapi.json
    from lynkflow.control.middleware import install as install_control_middleware
    install_control_middleware(app)  # fault injection + request journal, wrapping everything
    from lynkflow.faces import install_api2_trailing_slash
    install_api2_trailing_slash(app)  # outside even the control plane: faults and journal see one route
    return app


def build_route_state_in_background(app: FastAPI, *, after: Callable[[], bool]) -> None:
    """FastAPI builds the state of an included router's routes (dependencies, fields) on the first
    request that reaches that router, on the event loop: ~120 ms for the first VIS call, during which
    no other request is answered. `lynkflow serve` has a thread build all of it once `after()` says the
    first answer is out (the readiness probe is not kept waiting by it; a request that reaches a router
    being built waits only for the rest of it). Not done for every app: a test's in-process app serves
    a few routes and would pay for all of them."""

    def run() -> None:
        while not after():
            time.sleep(0.01)
        build_route_state(app)

    threading.Thread(target=run, name="lynkflow-routes", daemon=True).start()


def build_route_state(app: FastAPI) -> None:
    from fastapi.routing import iter_route_contexts

    from lynkflow.web.templating import templates

    for _ in iter_route_contexts(app.router.routes):
        pass
    templates()  # Jinja2, left out of the start (web/templating.py), loaded before the first page


def _mount(app: FastAPI) -> None:
    from lynkflow.control.health import router as health_router
    from lynkflow.control.ingest import router as ingest_router
    from lynkflow.control.routes import PREFIX as CONTROL_PREFIX
    from lynkflow.control.routes import router as control_router
    from lynkflow.storage.serve import router as storage_router
    from lynkflow.uplynk.routes import ROUTERS as UPLYNK_ROUTERS
    from lynkflow.vuflow.routes import router as vuflow_router
    from lynkflow.web.routes import ROUTERS as WEB_ROUTERS

    app.include_router(health_router)
    # Routes match in order, and each route tried before the one that answers costs that call about
    # 1 µs, twice (FastAPI matches once to choose and once to handle): the hot paths come first. No
    # path matches routes of two of these routers, so the order changes what a request costs, never
    # which route answers it (the OpenAPI document lists the routers in schema in this order).
    for router in UPLYNK_ROUTERS:  # api2, then playback (routers of routers go side by side: uplynk/routes.py)
        app.include_router(router)
    # VIS answers under /api/ like the real service, and at the root as the seed pages write it.
    app.include_router(vuflow_router, prefix="/api")
    app.include_router(storage_router)  # playback segments and media files: one route
    app.include_router(control_router, prefix=CONTROL_PREFIX)
    app.include_router(ingest_router)
    for router in WEB_ROUTERS:
        app.include_router(router)
    app.include_router(vuflow_router, include_in_schema=False)  # the seed pages' root paths: rare
