"""How much a slow request delays an unrelated one, against a real `lynkflow serve` (issue #14).

Over 20,000 Uplynk assets (SQLite, or PostgreSQL with --database-url), each kind of slow request is
sent back to back by one client — the largest api2 `asset/list` pages, phrase and word queries with
no match, the VIS asset list, the dashboard's asset page, a large journal read — while another client
times `GET /_lynkflow/health` every 10 ms. Health is timed alone first, in the same way; the delay is
the difference (p50, p99 and worst). Goal: a slow request delays an unrelated one by ≤ 20 ms.

    .venv/bin/python bench/isolation.py [--assets 20000] [--seconds 5] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import GENRES, throwaway_postgres  # noqa: E402
from wrkrun import free_port, server_env, stop, wait_for_200  # noqa: E402

GOAL_MS = 20.0
Send = Callable[[httpx.Client], httpx.Response]


def seed(settings, count: int) -> None:  # noqa: ANN001
    """`count` Uplynk assets through the domain (the real search index), in batches."""
    import sqlalchemy as sa

    from lynkflow.context import build_context
    from lynkflow.domain import uplynk_assets

    rng = random.Random(14)
    ctx = build_context(settings)
    for start in range(0, count, 2000):
        with ctx.session() as db:
            for i in range(start, min(count, start + 2000)):
                uplynk_assets.create_asset(db, ctx, owner_id=settings.uplynk_owner, media_id=None,
                                           external_id=f"ext-{i}", desc=f"{rng.choice(GENRES)} {rng.choice(GENRES)} "
                                           f"episode {i}", meta={"genre": rng.choice(GENRES)})
    with ctx.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    ctx.engine.dispose()


def slow_requests(settings, base: str, assets: int) -> dict[str, Send]:  # noqa: ANN001
    from lynkflow.testing.signing import Signer

    sign = Signer(settings.uplynk_owner, settings.uplynk_api_key)
    vis = {"API-KEY": settings.vuflow_api_key}

    def api2(**params: object) -> Send:
        return lambda http: http.post(f"{base}/api2/asset/list", data=sign(params))

    return {
        "api2 asset/list limit=100, deepest page": api2(limit=100, skip=max(0, assets - 100), order="desc"),
        "api2 asset/list phrase, no match": api2(query='"drama nothing"', limit=100),
        "api2 asset/list words, no match": api2(query="news +nothing", limit=100),
        "api2 asset/list meta field": api2(query="meta:genre=news", limit=100),
        "VIS GET /api/asset/": lambda http: http.get(f"{base}/api/asset/", headers=vis),
        "dashboard /dashboard/assets": lambda http: http.get(f"{base}/dashboard/assets"),
        "control journal, 100k entries": lambda http: http.get(f"{base}/_lynkflow/journal",
                                                               params={"limit": 100_000}),
    }


def time_health(http: httpx.Client, base: str, seconds: float) -> list[float]:
    """Milliseconds of each `GET /_lynkflow/health`, one every 10 ms for `seconds`."""
    out = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        r = http.get(f"{base}/_lynkflow/health")
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
        time.sleep(0.01)
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(database_url: str | None, assets: int, seconds: float, tmp: Path) -> None:
    from lynkflow.config import Settings

    data = tmp / "data"
    env = {**server_env(), "LYNKFLOW_DATA_DIR": str(data), "LYNKFLOW_INPROC_WORKERS": "0"}
    kw: dict = {"data_dir": data, "inproc_workers": 0}
    if database_url:
        env["LYNKFLOW_DATABASE_URL"] = kw["database_url"] = database_url
    port = free_port()
    exe = Path(sys.executable).with_name("lynkflow")
    proc = subprocess.Popen([str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_200(proc, base + "/_lynkflow/ready")
        settings = Settings(**kw)
        seed(settings, assets)
        kinds = slow_requests(settings, base, assets)
        with httpx.Client(timeout=60) as http:
            for send in kinds.values():
                send(http)  # warm: route state, caches, pools
            alone = time_health(http, base, seconds)
            a50, a99 = statistics.median(alone), pct(alone, 0.99)
            print(f"health alone: p50 {a50:5.1f} ms  p99 {a99:5.1f} ms  max {max(alone):5.1f} ms  ({len(alone)} calls)")
            print(f"{'slow request (back to back)':42s} {'each':>8s}  {'added delay to health: p50':>27s} "
                  f"{'p99':>7s} {'max':>7s}")
            worst = 0.0
            for label, send in kinds.items():
                stop_flag = threading.Event()
                durations: list[float] = []

                def loop(send=send, stop_flag=stop_flag, durations=durations) -> None:  # noqa: ANN001
                    with httpx.Client(timeout=120) as other:
                        while not stop_flag.is_set():
                            t = time.perf_counter()
                            resp = send(other)
                            assert resp.status_code < 500, resp.text[:300]
                            durations.append((time.perf_counter() - t) * 1000)

                thread = threading.Thread(target=loop, daemon=True)
                thread.start()
                time.sleep(0.2)
                under = time_health(http, base, seconds)
                stop_flag.set()
                thread.join()
                d50, d99, dmax = (statistics.median(under) - a50, pct(under, 0.99) - a99, max(under) - max(alone))
                worst = max(worst, d99)
                print(f"{label:42s} {statistics.median(durations):6.0f} ms  {d50:27.1f} {d99:7.1f} {dmax:7.1f}")
            print(f"worst p99 added delay {worst:.1f} ms  (goal ≤ {GOAL_MS:.0f} ms): "
                  f"{'met' if worst <= GOAL_MS else 'NOT met'}")
    finally:
        stop(proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=5.0, help="health timing per slow kind")
    ap.add_argument("--database-url", help="a PostgreSQL URL; a throwaway database is made beside it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lynkflow-isolation-") as tmp:
        if args.database_url:
            url, drop = throwaway_postgres(args.database_url)
            try:
                print(f"PostgreSQL, {args.assets} assets")
                run(url, args.assets, args.seconds, Path(tmp))
            finally:
                drop()
        else:
            print(f"SQLite, {args.assets} assets")
            run(None, args.assets, args.seconds, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
