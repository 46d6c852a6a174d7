"""The mixed load of issue #14 against a real `lynkflow serve`, on SQLite and (with a URL) PostgreSQL.

The mix: 35 % signed `asset/get`, 25 % signed `asset/list` (query `news`, limit 20), 20 % VIS
`GET /api/asset/`, 15 % VIS `GET /api/event/`, 5 % signed `asset/update` — over 2,000 Uplynk assets
and 20 VIS events with 40 assets. wrk -t2 -c64 replays a shuffled table of requests; every signed
body in it is distinct (the server refuses a msg/sig pair twice) and the table is longer than a run
can use, so no request is a replay. Prints req/s, p50, p99 and errors (non-2xx, socket errors,
and api2 error documents, which come with HTTP 200). Goals: ≥ 1,500 req/s, p99 ≤ 100 ms, 0 errors.

It also prints the server's CPU time per request (user + system, all its processes, over the
measured run): on a machine shared with other work, throughput moves with the neighbours' load,
while the CPU a request costs barely does, so it is the figure to compare two versions by.

    .venv/bin/python bench/load.py [--seconds 20] [--connections 64] [--database-url postgresql://…]
                                   [--only KIND] [--workers 1 2 …] [--rounds N] [--server uvicorn granian]

`--workers` runs the server with that many HTTP processes (`serve --workers`); several values are
measured one after another, `--rounds` times, interleaved.

`--server` serves the app under another HTTP server (granian: `lynkflow.serve_processes.worker_app`, one process) to
measure what the server itself costs; several values are measured interleaved, like `--workers`.

`--kinds` also prints, per kind of request, the server's own durations (p50, p99, max) of the last
`KIND_SAMPLE` requests of the run, from the request journal (`durationMs`: from the control
middleware's start to the answer's end). Set against wrk's latency, it tells which kinds make the
tail and whether a request waited inside the server (a lock, the thread pool) or before it reached
the middleware (the event loop's backlog, the listen queue).

With --database-url, a throwaway database is created beside the given one and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wrkrun import (  # noqa: E402
    FORM,
    SERVERS,
    cpu_seconds,
    free_port,
    lynkflow_command,
    run_wrk,
    server_env,
    signed_bodies,
    stop,
    wait_for_200,
    write_lua,
)

ASSETS = 2000
EVENTS = 20
VIS_ASSETS_PER_EVENT = 2
MIX = {"asset/get": 35, "asset/list": 25, "vis assets": 20, "vis events": 15, "asset/update": 5}
GENRES = ["news", "sports", "drama", "comedy", "kids", "music", "docs", "film", "live", "talk"]
REQUESTS_PER_SECOND_BUDGET = 6000  # table rows per second of run: more than the server can take
KIND_SAMPLE = 20000  # journal entries kept for --kinds (the server's default keeps 1,000)
ROUTE_KINDS = {("POST", "/api2/asset/get"): "asset/get", ("POST", "/api2/asset/list"): "asset/list",
               ("GET", "/api/asset/"): "vis assets", ("GET", "/api/event/"): "vis events",
               ("POST", "/api2/asset/update"): "asset/update"}


def seed(settings, rng: random.Random) -> tuple[list[str], str]:  # noqa: ANN001
    """2,000 Uplynk assets (through the domain, so the index is the real one) and the VIS data."""
    import sqlalchemy as sa

    from lynkflow import ids
    from lynkflow.context import build_context
    from lynkflow.db.models import VisAsset
    from lynkflow.domain import uplynk_assets, vis_events, vis_vuflows

    ctx = build_context(settings)
    asset_ids = []
    with ctx.session() as db:
        for i in range(ASSETS):
            desc = f"{rng.choice(GENRES)} {rng.choice(GENRES)} episode {i}"
            a = uplynk_assets.create_asset(db, ctx, owner_id=settings.uplynk_owner, media_id=None,
                                           external_id=f"ext-{i}", desc=desc, meta={"genre": rng.choice(GENRES)})
            asset_ids.append(a.id)
    key = settings.vuflow_api_key
    with ctx.session() as db:
        flow = vis_vuflows.create_vuflow(db, ctx, key, name="bench",
                                         configuration_json=json.dumps({"storageUrlPublic": "{lynkflow}/storage"}))
        for i in range(EVENTS):
            ev = vis_events.create_event(db, ctx, key, title=f"event {i}", vuflow_id=flow.id)
            for j in range(VIS_ASSETS_PER_EVENT):
                name = f"clip-{i}-{j}.gif"
                db.add(VisAsset(id=ids.guid(), event_id=ev.id, api_key=key, name=name,
                                path=f"{ev.content_id}/assets/{name}", extension="gif", state=1, type=3,
                                job_id=None, content_id=ev.content_id, params={}, created=i * 10 + j,
                                modified=i * 10 + j))
    with ctx.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    ctx.engine.dispose()
    return asset_ids, key


def request_table(settings, asset_ids: list[str], vis_key: str, n: int, rng: random.Random,  # noqa: ANN001
                  mix: dict[str, int], tag: str = "") -> list[tuple[str, str, str | None, dict[str, str]]]:
    """`n` requests of the mix; `tag` keeps the signed bodies of two tables distinct (a warm-up's
    body sent again in the measured run would be refused as a replay)."""
    owner, secret = settings.uplynk_owner, settings.uplynk_api_key
    kinds = [k for k, weight in mix.items() for _ in range(weight)]
    plan = [rng.choice(kinds) for _ in range(n)]
    count = {k: plan.count(k) for k in MIX}  # kinds outside the mix count 0
    gets = iter([b for i in range(count["asset/get"])
                 for b in signed_bodies(owner, secret, {"id": asset_ids[i % len(asset_ids)]}, 1, tag=f"{tag}g{i}-")])
    lists = iter(signed_bodies(owner, secret, {"query": "news", "limit": 20}, count["asset/list"], tag=f"{tag}l"))
    updates = iter([b for i in range(count["asset/update"])
                    for b in signed_bodies(owner, secret, {"id": rng.choice(asset_ids), "desc": f"news update {i}"},
                                           1, tag=f"{tag}u{i}-")])
    vis = {"API-KEY": vis_key}
    out: list[tuple[str, str, str | None, dict[str, str]]] = []
    for kind in plan:
        if kind == "asset/get":
            out.append(("POST", "/api2/asset/get", next(gets), FORM))
        elif kind == "asset/list":
            out.append(("POST", "/api2/asset/list", next(lists), FORM))
        elif kind == "asset/update":
            out.append(("POST", "/api2/asset/update", next(updates), FORM))
        elif kind == "vis assets":
            out.append(("GET", "/api/asset/", None, vis))
        else:
            out.append(("GET", "/api/event/", None, vis))
    return out


def throwaway_postgres(url: str) -> tuple[str, Callable[[], None]]:
    import sqlalchemy as sa

    from lynkflow.config import normalise_database_url

    admin = sa.create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    name = f"lynkflow_load_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.rsplit("/", 1)[0] + "/" + name, drop


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def print_kinds(settings) -> None:  # noqa: ANN001
    """Server durations per kind of request, from the journal rows the run left (see --kinds)."""
    import sqlalchemy as sa

    from lynkflow.context import build_context

    ctx = build_context(settings)
    with ctx.engine.connect() as conn:
        docs = [json.loads(d) for (d,) in conn.execute(sa.text("SELECT doc FROM control_journal"))]
    ctx.engine.dispose()
    by_kind: dict[str, list[float]] = {}
    for doc in docs:
        kind = ROUTE_KINDS.get((doc.get("method"), doc.get("route")), "other")
        if doc.get("durationMs") is not None:
            by_kind.setdefault(kind, []).append(doc["durationMs"])
    for kind, ms in sorted(by_kind.items()):
        print(f"      server {kind:13s} n {len(ms):6d}   p50 {percentile(ms, 0.5):7.1f} ms   "
              f"p99 {percentile(ms, 0.99):7.1f} ms   max {max(ms):7.1f} ms", flush=True)


def run_one(label: str, database_url: str | None, seconds: float, connections: int, tmp: Path,
            mix: dict[str, int], workers: int = 1, kinds: bool = False, server: str = "uvicorn") -> None:
    from lynkflow.config import Settings

    data = tmp / f"data-{label}"
    env = {**server_env(), "LYNKFLOW_DATA_DIR": str(data), "LYNKFLOW_INPROC_WORKERS": "0"}
    if kinds:
        env["LYNKFLOW_JOURNAL_SIZE"] = str(KIND_SAMPLE)
    kw: dict = {"data_dir": data, "inproc_workers": 0}
    if database_url:
        env["LYNKFLOW_DATABASE_URL"] = database_url
        kw["database_url"] = database_url
    port = free_port()
    cmd, extra = lynkflow_command(server, port, workers=workers)
    proc = subprocess.Popen(cmd, env={**env, **extra}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_200(proc, base + "/_lynkflow/ready")
        settings = Settings(**kw)
        rng = random.Random(14)
        asset_ids, vis_key = seed(settings, rng)
        table = request_table(settings, asset_ids, vis_key, int(REQUESTS_PER_SECOND_BUDGET * (seconds + 2)), rng,
                              mix)
        warm = request_table(settings, asset_ids, vis_key, 3000, random.Random(15), mix, tag="warm-")
        lua, warm_lua = tmp / f"load-{label}.lua", tmp / f"warm-{label}.lua"
        write_lua(lua, table)
        write_lua(warm_lua, warm)
        run_wrk(base + "/", 1, connections=connections, lua=warm_lua)  # warm caches and pools
        cpu_before = cpu_seconds(proc.pid)
        r = run_wrk(base + "/", seconds, connections=connections, lua=lua)
        cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1000 / max(1.0, r.rps * seconds)
        print(f"  {label:16s} {r.rps:8.0f} req/s   p50 {r.p50_ms:7.1f} ms   p99 {r.p99_ms:7.1f} ms   "
              f"cpu {cpu_ms:5.2f} ms/req   "
              f"errors {r.errors} (non-2xx {r.non2xx}, socket {r.socket_errors}, api2 {r.api_errors})", flush=True)
    finally:
        stop(proc)  # first: a stopped server has flushed its journal
    if kinds:
        print_kinds(settings)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--database-url", default=None, help="a PostgreSQL URL: also run on a throwaway database there")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--only", choices=list(MIX), help="one kind of request alone, instead of the mix")
    ap.add_argument("--workers", type=int, nargs="+", default=[1],
                    help="HTTP processes of the server (`serve --workers`); several: one run each, side by side")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds of every --workers value")
    ap.add_argument("--kinds", action="store_true", help="also print the server's durations per kind of request")
    ap.add_argument("--server", choices=SERVERS, nargs="+", default=["uvicorn"],
                    help="the HTTP server: uvicorn is `lynkflow serve` as shipped; granian serves the same app "
                         "(`serve_processes.worker_app`, one process); several: one run each, interleaved")
    args = ap.parse_args()
    mix = {args.only: 1} if args.only else MIX
    print(f"load: wrk -t2 -c{args.connections} {args.seconds:g} s; {ASSETS} assets; "
          + ", ".join(f"{v * 100 // sum(mix.values())}% {k}" for k, v in mix.items())
          + "  (goals: ≥ 1,500 req/s, p99 ≤ 100 ms, 0 errors)")
    with tempfile.TemporaryDirectory(prefix="lynkflow-bench-load-") as t:
        tmp = Path(t)
        for rnd in range(args.rounds):
            for workers in args.workers:
                for server in args.server:
                    label = f"{rnd}-{workers}" + (f"-{server}" if len(args.server) > 1 else "")
                    if not args.skip_sqlite:
                        run_one(f"SQLite-{label}", None, args.seconds, args.connections, tmp, mix, workers,
                                args.kinds, server)
                    if args.database_url:
                        url, drop = throwaway_postgres(args.database_url)
                        try:
                            run_one(f"PostgreSQL-{label}", url, args.seconds, args.connections, tmp, mix, workers,
                                    args.kinds, server)
                        finally:
                            drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
