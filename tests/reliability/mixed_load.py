"""A mixed API load against a live lynkflow, counting what a client would call a failure.

Used by `test_postgres_load.py`, and runnable by hand for a longer or bigger run:

    .venv/bin/python -m tests.reliability.mixed_load --database-url postgresql://... --seconds 60

`concurrency` tasks share one async httpx client whose pool holds as many keep-alive connections
(httpx's default 5 s idle expiry, as most users run it). Each task sends, in a fixed rotation: signed
api2 `asset/get`, signed `asset/list` with a query, VIS `GET /api/asset/` (an empty list: VIS assets
need recorded media, but the query runs), VIS `GET /api/event/`, and now and then a signed
`asset/update` and a VIS event update. Every signed request is a distinct msg/sig pair (the server
refuses replays).
A transport error (the server closed or reset the connection, or never answered) and a 5xx are
failures; so is an api2 answer carrying the internal-error header.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from lynkflow.testing.signing import Signer
from lynkflow.uplynk.errors import INTERNAL_ERROR_HEADER

WORDS = ["news", "sports", "drama", "comedy", "kids", "music", "docs", "film", "live", "talk"]


@dataclass
class Tally:
    requests: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # 5xx and api2 internal errors, first few
    api2_refusals: Counter[str] = field(default_factory=Counter)
    error_details: list[str] = field(default_factory=list)  # when and what, for each transport error
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return sum(self.transport_errors.values()) + len(self.server_errors)

    def summary(self) -> str:
        rate = self.requests / self.seconds if self.seconds else 0.0
        return (f"{self.requests} requests in {self.seconds:.1f} s ({rate:.0f}/s); statuses {dict(self.statuses)}; "
                f"transport errors {dict(self.transport_errors)}; server errors {len(self.server_errors)} "
                f"{self.server_errors[:5]}; api2 refusals {dict(self.api2_refusals)}; kinds {dict(self.by_kind)}")


def seed_assets(ctx: Any, owner: str, count: int) -> list[str]:
    """Uplynk assets straight through the domain (api2 has no call that creates one without media)."""
    from lynkflow.domain import uplynk_assets as dom

    rng = random.Random(7)
    with ctx.session() as db:
        return [dom.create_asset(db, ctx, owner_id=owner, media_id=None, external_id=f"load-{i}",
                                 desc=f"{rng.choice(WORDS)} {rng.choice(WORDS)} episode {i}",
                                 meta={"genre": rng.choice(WORDS)}).id for i in range(count)]


def seed_events(base_url: str, vis_key: str, count: int) -> list[str]:
    """VIS events through the API, as a client makes them."""
    with httpx.Client(base_url=base_url, headers={"API-KEY": vis_key}, timeout=30) as http:
        out = []
        for i in range(count):
            resp = http.post("/api/event/", json={"title": f"load event {i}", "description": WORDS[i % 10]})
            resp.raise_for_status()
            out.append(resp.json()["id"])
        return out


async def run_load(base_url: str, *, owner: str, api_key: str, vis_key: str, asset_ids: list[str],
                   event_ids: list[str], seconds: float, concurrency: int = 64, timeout: float = 30.0,
                   write_every: int = 10) -> Tally:
    tally = Tally()
    signed = Signer(owner, api_key)  # each msg distinct: the server refuses replays
    vis = {"API-KEY": vis_key}
    deadline = time.monotonic() + seconds
    rng = random.Random(12)

    def next_request(n: int) -> tuple[str, str, str, dict[str, Any]]:
        """(kind, method, path, httpx keyword arguments) of the n-th request of one task."""
        if n % write_every == write_every - 1:
            if (n // write_every) % 2:
                aid = rng.choice(asset_ids)
                return "asset/update", "POST", "/api2/asset/update", {
                    "data": signed({"id": aid, "desc": f"{rng.choice(WORDS)} updated {n}"})}
            eid = rng.choice(event_ids)
            return "vis event update", "PATCH", f"/api/event/{eid}", {
                "headers": vis, "json": {"description": f"updated {n}"}}
        match n % 4:
            case 0:
                return "asset/get", "POST", "/api2/asset/get", {"data": signed({"id": rng.choice(asset_ids)})}
            case 1:
                return "asset/list", "POST", "/api2/asset/list", {
                    "data": signed({"query": rng.choice(WORDS), "limit": 20})}
            case 2:
                return "vis asset list", "GET", "/api/asset/", {"headers": vis}
            case _:
                return "vis event list", "GET", "/api/event/", {"headers": vis}

    async def worker(i: int, http: httpx.AsyncClient) -> None:
        n = i  # tasks start at different points of the rotation
        while time.monotonic() < deadline:
            kind, method, path, kwargs = next_request(n)
            n += 1
            tally.requests += 1
            tally.by_kind[kind] += 1
            try:
                resp = await http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                tally.transport_errors[f"{type(exc).__name__} ({kind})"] += 1
                at = time.monotonic() - started
                tally.error_details.append(f"+{at:.1f} s {type(exc).__name__} {kind}: {exc!r}")
                continue
            tally.statuses[resp.status_code] += 1
            if resp.status_code >= 500:
                tally.server_errors.append(f"{resp.status_code} {kind}: {resp.text[:200]}")
            elif path.startswith("/api2/"):
                if INTERNAL_ERROR_HEADER in resp.headers:
                    tally.server_errors.append(f"api2 internal error {kind}: {resp.text[:200]}")
                elif resp.json().get("error"):
                    tally.api2_refusals[resp.json().get("msg", "")[:80]] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as http:
        await asyncio.gather(*(worker(i, http) for i in range(concurrency)))
    tally.seconds = time.monotonic() - started
    return tally


def main() -> int:
    import tempfile
    from pathlib import Path

    from lynkflow.config import Settings
    from lynkflow.context import build_context
    from lynkflow.testing.server import LynkflowServer

    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default=None, help="default: SQLite in the data dir")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--assets", type=int, default=300)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--inproc-workers", default="0")
    ap.add_argument("--keep", action="store_true", help="keep the data dir and server log")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lynkflow-mixed-load-"))
    env = {"LYNKFLOW_INPROC_WORKERS": args.inproc_workers}
    if args.database_url:
        env["LYNKFLOW_DATABASE_URL"] = args.database_url
    with LynkflowServer(root / "data", env=env) as server:
        # The server's own database: the one given, else the SQLite file in its data dir.
        ctx = build_context(Settings(data_dir=root / "data", inproc_workers=0, database_url=args.database_url))
        asset_ids = seed_assets(ctx, server.uplynk_owner, args.assets)
        ctx.engine.dispose()
        event_ids = seed_events(server.base_url, server.vuflow_api_key, args.events)
        tally = asyncio.run(run_load(server.base_url, owner=server.uplynk_owner, api_key=server.uplynk_api_key,
                                     vis_key=server.vuflow_api_key, asset_ids=asset_ids, event_ids=event_ids,
                                     seconds=args.seconds, concurrency=args.concurrency))
        print(tally.summary())
        print("\n".join(tally.error_details))
        log = server.log_text
    print(f"server log: {len(log.splitlines())} lines; last 40:")
    print("\n".join(log.splitlines()[-40:]))
    print(f"root: {root}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
