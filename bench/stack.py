"""What the server stack itself costs per request: the ASGI app called in-process, no network.

CPU microseconds per call (process time, steadier than wall time on a busy machine) for a bare
FastAPI route and for lynkflow's trivial route, a VIS route, a VIS list, api2 asset/get (GET and
POST) and asset/list (each api2 call a freshly signed pair: the replay guard refuses a pair twice),
a /storage miss and a dashboard page: middleware layers, route matching and the route itself, without
uvicorn or a socket. The data is bench/load.py's (2,000 Uplynk assets, 20 VIS events of 2 assets),
and asset/list is its `query=news limit=20`. With `--compare-to REV` the same cases run for another
git revision in alternating rounds (each revision in its own process), for a before/after.

    .venv/bin/python bench/stack.py [--calls N] [--rounds N] [--compare-to REV]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402
from peers import export_revision  # noqa: E402
from wrkrun import server_env  # noqa: E402

CASES = ["bare FastAPI GET /health", "GET /_lynkflow/health", "GET /api/health/", "GET /api/asset/",
         "GET /api2/asset/get", "POST /api2/asset/get", "POST /api2/asset/list", "GET /storage/x/y.ts (404)",
         "GET /dashboard/login"]
# asset/list is bench/load.py's: `query=news limit=20` over its 2,000 assets (seeded the same way).
LIST_PARAMS = {"query": "news", "limit": 20}

_FORM = [(b"content-type", b"application/x-www-form-urlencoded")]


def _scope(path: str, headers: list[tuple[bytes, bytes]] | None = None, *, method: str = "GET",
           query: bytes = b"", body: bytes = b"") -> dict[str, Any]:
    """A request; `body` rides in the scope under a private key for `_call` to send."""
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), *(headers or [])], "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80), "bench.body": body}


def _api2_scopes(settings: Any, ctx: Any, method: str, path: str, count: int) -> list[dict[str, Any]]:
    """`count` calls of an api2 operation (asset/get of one asset, or asset/list's `LIST_PARAMS`), each
    signed afresh (outside the timing)."""
    from urllib.parse import urlencode

    from lynkflow.domain.uplynk_assets import create_asset
    from lynkflow.testing.signing import signed_params

    if path == "/api2/asset/list":
        params = LIST_PARAMS
    else:
        with ctx.session() as db:
            params = {"id": create_asset(db, ctx, owner_id=settings.uplynk_owner, media_id=None).id}
    scopes = []
    for n in range(count):
        pair = urlencode(signed_params({**params, "n": n}, settings.uplynk_owner, settings.uplynk_api_key))
        if method == "GET":
            scopes.append(_scope(path, query=pair.encode()))
        else:
            scopes.append(_scope(path, _FORM, method="POST", body=pair.encode()))
    return scopes


async def _call(app: Any, scope: dict[str, Any]) -> tuple[int, bytes]:
    """The status and the first body chunk."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": scope["bench.body"], "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(dict(scope), receive, send)
    return sent[0]["status"], sent[1].get("body", b"") if len(sent) > 1 else b""


async def _measure(calls: int) -> dict[str, float]:
    """One round in this process: CPU µs per call of each case."""
    from fastapi import FastAPI

    from lynkflow.config import Settings
    from lynkflow.context import build_context
    from lynkflow.main import build_route_state, create_app, prepare

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="lynkflow-bench-stack-")), inproc_workers=0)
    ctx = build_context(settings)
    app = create_app(settings, ctx=ctx)
    prepare(ctx)
    load.seed(settings, random.Random(1))  # bench/load.py's assets, for the asset/list case
    build_route_state(app)  # as `lynkflow serve` does after its first answer
    bare = FastAPI()

    @bare.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    key = [(b"api-key", settings.vuflow_api_key.encode())]
    apps = {"bare FastAPI GET /health": (bare, [_scope("/health")] * (calls + 1))}
    for case in CASES[1:]:
        method, path = case.split()[:2]
        if path.startswith("/api2/"):
            apps[case] = (app, _api2_scopes(settings, ctx, method, path, calls + 1))
        else:
            apps[case] = (app, [_scope(path, key if path.startswith("/api/") else None)] * (calls + 1))
    result = {}
    for case, (target, scopes) in apps.items():
        status, body = await _call(target, scopes[0])  # warm: lazy state, caches
        # Measure the real path: api2 refuses with HTTP 200, so its answer must say error 0.
        assert status < 500 and (b'"error":0' in body or "/api2/" not in case), f"{case}: {status} {body[:200]!r}"
        start = time.process_time()
        for scope in scopes[1:]:
            await _call(target, scope)
        result[case] = (time.process_time() - start) / calls * 1e6
    ctx.engine.dispose()
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compare-to", metavar="GIT_REV", help="also run this git revision (before/after)")
    ap.add_argument("--one-round", action="store_true", help=argparse.SUPPRESS)  # a child process
    args = ap.parse_args()
    if args.one_round:
        print(json.dumps(asyncio.run(_measure(args.calls))))
        return
    revisions: dict[str, dict[str, str]] = {"this tree": server_env()}
    if args.compare_to:
        revisions[f"@{args.compare_to}"] = {**server_env(),
                                            "PYTHONPATH": str(export_revision(args.compare_to))}
    results: dict[str, dict[str, list[float]]] = {name: {c: [] for c in CASES} for name in revisions}
    for _ in range(args.rounds):
        for name, env in revisions.items():
            out = subprocess.run([sys.executable, __file__, "--one-round", "--calls", str(args.calls)], env=env,
                                 capture_output=True, text=True, check=True, cwd=os.getcwd()).stdout
            for case, micros in json.loads(out.strip().splitlines()[-1]).items():
                results[name][case].append(micros)
    print(f"CPU µs per in-process call, medians of {args.rounds} alternating rounds of {args.calls} calls")
    names = list(revisions)
    print(f"  {'case':28s}" + "".join(f"{n:>16s}" for n in names) + ("   after/before" if len(names) > 1 else ""))
    for case in CASES:
        meds = [statistics.median(results[n][case]) for n in names]
        ratio = f"   {meds[0] / meds[1]:10.2f}×" if len(meds) > 1 else ""
        print(f"  {case:28s}" + "".join(f"{m:14.1f}µs" for m in meds) + ratio)


if __name__ == "__main__":
    main()
