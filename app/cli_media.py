"""`lynkflow ingest FILE…`: make Uplynk assets and/or VIS events from local media, with a progress bar.

The command queues one ingest job per file and runs a worker pool in-process until every job has
ended, drawing a bar from the jobs' progress. A running `lynkflow serve` on the same database may
pick some of the jobs up instead; the bar follows them either way. The bar redraws itself with
carriage returns, so it is drawn only on a terminal: in a CI log there is one line per file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    p = sub.add_parser("ingest", help="ingest local media files into Uplynk assets and/or VIS events")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--owner", help="Uplynk owner id (default: LYNKFLOW_UPLYNK_OWNER)")
    p.add_argument("--external-id", help="Uplynk external id (only with a single file)")
    p.add_argument("--desc", help="Uplynk asset description / VIS event title (default: file name)")
    p.add_argument("--event", action="store_true", help="also make a VIS event from each file")
    p.add_argument("--event-only", action="store_true", help="make only a VIS event, no Uplynk asset")
    p.add_argument("--vuflow", help="VIS vuflow id for the events")
    p.add_argument("--no-wait", action="store_true", help="queue the jobs and return")
    p.set_defaults(fn=cmd_ingest)


def _bar(fraction: float, width: int = 30) -> str:
    filled = int(round(fraction * width))
    return "#" * filled + "-" * (width - filled)


def cmd_ingest(args: argparse.Namespace) -> int:
    from lynkflow.cli import _context
    from lynkflow.domain.ingest import ingest_file
    from lynkflow.jobs.queue import FINAL_STATES, get_job
    from lynkflow.jobs.workers import WorkerPool

    if args.external_id and len(args.files) > 1:
        print("lynkflow ingest: --external-id needs exactly one file", file=sys.stderr)
        return 2
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"lynkflow ingest: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    ctx = _context()
    started = []
    for f in args.files:
        uplynk = None if args.event_only else {"owner": args.owner or ctx.settings.uplynk_owner,
                                               "external_id": args.external_id or "", "desc": args.desc or f.name}
        vis = ({"api_key": ctx.settings.vuflow_api_key, "vuflow_id": args.vuflow, "title": args.desc or f.name}
               if (args.event or args.event_only) else None)
        started.append((f, ingest_file(ctx, f, original_filename=f.name, uplynk=uplynk, vis=vis)))
    if args.no_wait:
        for f, s in started:
            print(f"{f.name}: job {s.job.id} queued (asset {s.uplynk_asset_id}, event {s.vis_event_id})")
        return 0
    pool = WorkerPool(ctx, count=1)
    pool.start()
    failed = 0
    draw_bar = sys.stderr.isatty()
    try:
        pending = {s.job.id: (f, s) for f, s in started}
        while pending:
            jobs = {jid: get_job(ctx, jid) for jid in pending}
            total = sum((j.progress if j else 100.0) for j in jobs.values()) / (100.0 * len(jobs))
            if draw_bar:
                sys.stderr.write(f"\r[{_bar(total)}] {total * 100:5.1f}%  {len(pending)} left ")
                sys.stderr.flush()
            for jid, job in jobs.items():
                if job is not None and job.state in (*FINAL_STATES, "held"):
                    f, s = pending.pop(jid)
                    ok = job.state in ("done", "held")
                    failed += 0 if ok else 1
                    if draw_bar:
                        sys.stderr.write("\r" + " " * 60 + "\r")
                    detail = f"asset {s.uplynk_asset_id}" if s.uplynk_asset_id else ""
                    if s.vis_event_id:
                        detail += f" event {s.vis_event_id}"
                    print(f"{f.name}: {job.state} {detail.strip()}" + ("" if ok else f" — {job.last_error}"),
                          flush=True)
            time.sleep(0.2)
    finally:
        pool.stop()
    return 1 if failed else 0
