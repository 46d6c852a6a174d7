"""`lynkflow serve --workers N`: several HTTP processes on one listening socket.

One Python process serves HTTP on one core at most (the GIL), so on a machine with more cores a
single process leaves them idle under load. With N > 1 the `serve` process becomes a supervisor:

- it prepares the database once (migrations, default accounts, seed), before any HTTP process
  starts, so N processes never race to migrate;
- it starts N HTTP processes (uvicorn's own supervisor: the listening socket is inherited, the
  kernel spreads connections, a process that dies is replaced), each with its own pool and caches;
- it runs the in-process job workers itself (`LYNKFLOW_INPROC_WORKERS` threads, as `lynkflow
  worker` does), so N does not multiply the media jobs run at once; the HTTP processes run none.

This is sound because every piece of control-plane state lives in the database (lynkflow/shared.py):
N processes on one port behave as N `lynkflow serve` processes on one database, which is supported.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Callable

from fastapi import FastAPI

from lynkflow.config import Settings, load_settings

# Set by the supervisor for its HTTP processes: the address the presence row names.
_ADDRESS_ENV = "LYNKFLOW_SERVE_ADDRESS"


def worker_app() -> FastAPI:
    """The application of one HTTP process (uvicorn's factory; settings from the inherited environment)."""
    from lynkflow import startgc

    startgc.pause()  # a fresh (spawned) interpreter starting: resumed by the app's lifespan
    from lynkflow.cli import SWITCH_INTERVAL
    from lynkflow.context import build_context
    from lynkflow.main import create_app

    # Spawned, this interpreter does not inherit the supervisor's switch interval (cli.cmd_serve says why 1 ms).
    sys.setswitchinterval(SWITCH_INTERVAL)

    settings = load_settings().model_copy(update={"inproc_workers": 0})  # the supervisor runs the jobs
    ctx = build_context(settings)
    ctx.address = os.environ.get(_ADDRESS_ENV)
    return create_app(settings, ctx=ctx)


def serve(settings: Settings, sock: socket.socket, host: str, port: int, workers: int,
          on_ready: Callable[[], None]) -> None:
    """Prepare the database, run `workers` HTTP processes and the job workers until stopped."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from lynkflow.context import build_context
    from lynkflow.db.presence import Presence
    from lynkflow.jobs.workers import WorkerPool
    from lynkflow.main import prepare

    ctx = build_context(settings)
    prepare(ctx)
    os.environ[_ADDRESS_ENV] = f"{host}:{port}"
    config = uvicorn.Config("lynkflow.serve_processes:worker_app", factory=True, workers=workers,
                            access_log=False, log_level="warning", timeout_keep_alive=settings.keep_alive)
    pool = WorkerPool(ctx, count=settings.inproc_workers)
    ctx.workers = pool
    presence = Presence(ctx.engine, "serve", address=f"{host}:{port}")
    presence.start()
    pool.start()
    stop = threading.Event()
    threading.Thread(target=_announce_when_up, args=(host, port, on_ready, stop), daemon=True).start()
    from lynkflow import startgc

    startgc.resume()  # the supervisor's own start is done (`lynkflow serve` paused the collector)
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        stop.set()
        pool.stop()
        presence.stop()
        ctx.shared.close()
        ctx.engine.dispose()


def _announce_when_up(host: str, port: int, on_ready: Callable[[], None], stop: threading.Event) -> None:
    """Call `on_ready` once an HTTP process answers (the URLs in the banner then work)."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    url = f"http://{'[' + target + ']' if ':' in target else target}:{port}/_lynkflow/health"
    while not stop.is_set():
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as r:
            if r.status == 200:
                on_ready()
                return
        time.sleep(0.05)
