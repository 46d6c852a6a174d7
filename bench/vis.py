"""What VIS GETs cost per call in-process, over bench/load.py's VIS data, and whether bodies changed.

CPU microseconds per call (process time) of the VIS read routes — asset list, asset list filtered,
one asset, event list, one event — called through the whole ASGI app (middleware, routing,
dependencies, the route), no network. The data are the shape bench/load.py serves (20 events with a
vuflow, 2 GIF assets each) plus a few odd rows (an event without a vuflow, extras, a path that needs
percent-encoding), with fixed ids and times, so every revision answers the same bytes: each case
prints a hash of its body, and `--compare-to REV` runs that revision alternately and flags any body
that differs.

    .venv/bin/python bench/vis.py [--calls N] [--rounds N] [--compare-to REV] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import export_revision  # noqa: E402
from stack import _call, _scope  # noqa: E402
from wrkrun import server_env  # noqa: E402

EVENTS = 20
ASSETS_PER_EVENT = 2


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed(ctx: Any, key: str) -> dict[str, str]:
    """The data, with fixed ids and times; returns ids the cases name."""
    import sqlalchemy as sa

    from lynkflow.db.models import VisAsset, VisEvent
    from lynkflow.domain import vis_events, vis_vuflows

    rng = random.Random(14)
    with ctx.session() as db:
        flow = vis_vuflows.create_vuflow(db, ctx, key, name="bench", vuflow_id=_guid(rng),
                                         configuration_json=json.dumps({"storageUrlPublic": "{lynkflow}/storage"}))
        events = []
        for i in range(EVENTS + 1):
            extra = {"tags": ["news", "live"], "channelId": _guid(rng), "autoStart": True} if i % 3 == 0 else {}
            ev = vis_events.create_event(db, ctx, key, event_id=_guid(rng), title=f"event {i} — ünïcode",
                                         description="d" * (i % 4), ref_id=f"ref-{i}" if i % 2 else None,
                                         external_id=f"ext-{i}" if i % 5 == 0 else None,
                                         vuflow_id=None if i == EVENTS else flow.id, extra=extra)
            events.append(ev)
            for j in range(ASSETS_PER_EVENT):
                name = f"clip {i}-{j} é.gif" if i == 0 else f"clip-{i}-{j}.gif"
                db.add(VisAsset(id=_guid(rng), event_id=ev.id, api_key=key, name=name,
                                path=f"{ev.content_id}/assets/{name}", extension="gif", state=j % 3, type=3 - j,
                                job_id=str(i) if j else None, content_id=ev.content_id, params={},
                                created=1_700_000_000_000 + i * 10_000 + j, modified=1_700_000_500_000 + i))
        db.flush()
        for n, ev in enumerate(events):
            db.execute(sa.update(VisEvent).where(VisEvent.id == ev.id)
                       .values(created=1_700_000_000_000 + n * 1000, modified=1_700_000_900_000 + n))
        ids = {"event": events[3].id, "asset_event": events[5].id}
    with ctx.session() as db:
        ids["asset"] = db.scalar(sa.select(VisAsset.id).where(VisAsset.event_id == events[0].id).limit(1))
    return ids


def cases(ids: dict[str, str]) -> dict[str, tuple[str, bytes]]:
    return {
        "asset list": ("/api/asset/", b""),
        "asset list ?eventId&states": ("/api/asset/", f"eventId={ids['asset_event']}&States=COMPLETED,0".encode()),
        "one asset": (f"/api/asset/{ids['asset']}/", b""),
        "event list": ("/api/event/", b""),
        "event list ?pageSize&order": ("/api/event/", b"pageSize=10&pageNumber=2&order=ASC"),
        "one event": (f"/api/event/{ids['event']}", b""),
        "asset list, bad pageIndex": ("/api/asset/", b"pageIndex=x"),
        "no key": ("/api/event/", b""),
    }


async def _measure(calls: int, profile: str | None) -> dict[str, Any]:
    from lynkflow.config import Settings
    from lynkflow.context import build_context
    from lynkflow.main import build_route_state, create_app, prepare

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="lynkflow-bench-vis-")), inproc_workers=0)
    ctx = build_context(settings)
    app = create_app(settings, ctx=ctx)
    prepare(ctx)
    build_route_state(app)
    ids = seed(ctx, settings.vuflow_api_key)
    key = [(b"api-key", settings.vuflow_api_key.encode())]
    result: dict[str, Any] = {}
    for case, (path, query) in cases(ids).items():
        if profile and case != profile:
            continue
        scope = _scope(path, None if case == "no key" else key, query=query)
        status, body = await _call(app, scope)  # warm: lazy state, caches
        start = time.process_time()
        for _ in range(calls):
            await _call(app, scope)
        result[case] = [(time.process_time() - start) / calls * 1e6, status,
                        hashlib.sha256(body).hexdigest()[:12], len(body)]
    ctx.engine.dispose()
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compare-to", metavar="GIT_REV", help="also run this git revision (before/after)")
    ap.add_argument("--profile", metavar="CASE", help="only this case, in this process (for py-spy)")
    ap.add_argument("--one-round", action="store_true", help=argparse.SUPPRESS)  # a child process
    args = ap.parse_args()
    if args.one_round or args.profile:
        print(json.dumps(asyncio.run(_measure(args.calls, args.profile))))
        return
    revisions: dict[str, dict[str, str]] = {"this tree": server_env()}
    if args.compare_to:
        revisions[f"@{args.compare_to}"] = {**server_env(),
                                            "PYTHONPATH": str(export_revision(args.compare_to))}
    results: dict[str, dict[str, list[Any]]] = {name: {} for name in revisions}
    for _ in range(args.rounds):
        for name, env in revisions.items():
            out = subprocess.run([sys.executable, __file__, "--one-round", "--calls", str(args.calls)], env=env,
                                 capture_output=True, text=True, check=True, cwd=os.getcwd()).stdout
            for case, row in json.loads(out.strip().splitlines()[-1]).items():
                results[name].setdefault(case, []).append(row)
    print(f"CPU µs per in-process call, medians of {args.rounds} alternating rounds of {args.calls} calls")
    names = list(revisions)
    print(f"  {'case':30s}" + "".join(f"{n:>16s}" for n in names) + ("   after/before" if len(names) > 1 else "")
          + "   status body")
    for case in results[names[0]]:
        meds = [statistics.median(r[0] for r in results[n][case]) for n in names]
        ratio = f"   {meds[0] / meds[1]:10.2f}×" if len(meds) > 1 else ""
        bodies = {tuple(r[1:]) for n in names for r in results[n][case]}
        same = "" if len(bodies) == 1 else "   BODIES DIFFER: " + " ".join(map(str, sorted(bodies)))
        status, digest, size = results[names[0]][case][0][1:]
        print(f"  {case:30s}" + "".join(f"{m:14.1f}µs" for m in meds) + ratio
              + f"   {status} {digest} {size} B{same}")


if __name__ == "__main__":
    main()
