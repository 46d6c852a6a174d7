"""CPU of one `Journal.flush` of N entries, measured alone (the mix hides it in its noise).

The flushing thread's CPU time (`time.thread_time`) around `flush()` of N typical api2 entries, after
20 warm-up flushes; median, p10 and p90 of `--flushes` flushes. Compare two versions side by side with
PYTHONPATH set to an exported revision (bench/peers.py) for "before".

    .venv/bin/python bench/journal_flush.py --url postgresql://postgres@127.0.0.1:5432/lynkflow_bench --entries 25 50

Measured on this 2-core machine (2026-12-06, shared with other work), 3 rounds interleaved with 538988f,
PostgreSQL: 25 entries 0.83-1.38 -> 0.49-0.80 ms, 50 entries 1.23-1.44 -> 0.64-1.02 ms (docs/architecture.md,
"The journal's flush on PostgreSQL").
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from lynkflow.control.journal import Journal
from lynkflow.db.engine import make_engine
from lynkflow.db.migrate import migrate_to_head
from lynkflow.shared import SharedState

WARM_UP = 20


def entry(i: int) -> dict[str, Any]:
    """What the middleware records for a signed asset/get."""
    return {"time": 1765000000000 + i, "api": "uplynk", "method": "GET", "route": "/api2/asset/get",
            "query": "msg=eyJfb3duZXIiOiJhYmMiLCJpZCI6IjEyMyJ9&sig=abcdef0123456789", "status": 200,
            "durationMs": 1.234, "params": {"_owner": "abc", "id": f"asset{i}", "_timestamp": 1765000000},
            "body": None, "fault": None, "signature": "valid", "internalError": False, "tenant": None,
            "stub": None, "error": 0}


def measure(journal: Journal, entries: int, flushes: int) -> list[float]:
    cpu_ms = []
    for n in range(WARM_UP + flushes):
        # The buffer filled directly: `record` would start the background flusher, which could take the batch.
        with journal._lock:
            journal._pending = [entry(i) for i in range(entries)]
        started = time.thread_time()
        journal.flush()
        if n >= WARM_UP:
            cpu_ms.append((time.thread_time() - started) * 1000)
    return cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a database URL (its schema is brought to head)")
    parser.add_argument("--entries", type=int, nargs="+", default=[25, 50])
    parser.add_argument("--flushes", type=int, default=300)
    args = parser.parse_args()
    engine = make_engine(args.url)
    migrate_to_head(engine)
    journal = Journal(SharedState(engine), 1000)
    for entries in args.entries:
        cpu = sorted(measure(journal, entries, args.flushes))
        print(f"{entries:4d} entries   cpu ms/flush median {statistics.median(cpu):.3f}   "
              f"p10 {cpu[len(cpu) // 10]:.3f}   p90 {cpu[len(cpu) * 9 // 10]:.3f}")


if __name__ == "__main__":
    main()
