"""Job enqueue → start latency with an idle `lynkflow worker` in another process.

Jobs are enqueued one at a time (each after the previous one started), by this process, through
the same `queue.enqueue` the APIs use; a separate `lynkflow worker` process claims them. The
latency is the job's `started` minus its `created` (both from the lynkflow clock, one host).
A kind with no handler is used, so the worker claims the job and fails it at once: only the
wake-up and the claim are measured. Goal on PostgreSQL: p50 ≤ 50 ms (the workers' fallback poll
interval is printed for comparison: without a wake-up a job waits for it).

    .venv/bin/python bench/job_start.py [--url postgresql://postgres@127.0.0.1:5432/lynkflow_bench] [--jobs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from lynkflow.config import Settings, normalise_database_url  # noqa: E402
from lynkflow.context import build_context  # noqa: E402
from lynkflow.db.models import Job  # noqa: E402
from lynkflow.jobs import queue  # noqa: E402
from lynkflow.main import prepare  # noqa: E402


def fresh_schema(url: str) -> str:
    engine = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS lynkflow_bench_queue CASCADE"))
        conn.execute(text("CREATE SCHEMA lynkflow_bench_queue"))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3Dlynkflow_bench_queue"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default=os.environ.get("LYNKFLOW_BENCH_POSTGRES_URL",
                                                    "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--jobs", type=int, default=40)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="lynkflow-bench-queue-"))
    results = {}
    for label, url in (("PostgreSQL", fresh_schema(args.url)), ("SQLite", f"sqlite:///{data / 'q.db'}")):
        ctx = build_context(Settings(data_dir=data, database_url=url, inproc_workers=0))
        prepare(ctx)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LYNKFLOW_")}
        env.update(LYNKFLOW_DATA_DIR=str(data), LYNKFLOW_DATABASE_URL=url)
        worker = subprocess.Popen([sys.executable, "-m", "lynkflow.cli", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(2.0)  # the worker is up and idle
            latencies = []
            for _ in range(args.jobs):
                with ctx.session() as db:
                    job_id = queue.enqueue(db, ctx, "bench.noop", {}).id
                deadline = time.monotonic() + 10
                while True:
                    with ctx.read_session() as db:
                        job = db.get(Job, job_id)
                        if job is not None and job.started is not None:
                            latencies.append(job.started - job.created)
                            break
                    if time.monotonic() > deadline:
                        raise SystemExit(f"job {job_id} not started within 10 s on {label}")
                    time.sleep(0.002)
                time.sleep(0.05)  # idle again
        finally:
            worker.terminate()
            worker.wait(10)
            ctx.engine.dispose()
        results[label] = latencies
    print(f"enqueue → start with an idle worker process, {args.jobs} jobs each (ms)")
    print(f"{'database':<12}{'p50':>8}{'p90':>8}{'max':>8}")
    for label, lat in results.items():
        q = statistics.quantiles(lat, n=10)
        print(f"{label:<12}{statistics.median(lat):>8.0f}{q[8]:>8.0f}{max(lat):>8.0f}")
    print("fallback poll interval of an idle worker: 2.0 s on PostgreSQL (NOTIFY wakes it), 0.5 s on SQLite")


if __name__ == "__main__":
    main()
