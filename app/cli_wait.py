"""`lynkflow wait`: block until a lynkflow answers ready (and, with --seeded, its seed media is done).

For scripts and CI: start `lynkflow serve` in the background, then `lynkflow wait` before the
tests. It polls `GET /_lynkflow/ready` (always open, even behind LYNKFLOW_ADMIN_TOKEN), whose
`seed` field says how far the ingest jobs of the seed's media are. Exit 0 when ready, 1 with one
line on stderr when the time is up or a seed media job failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import NamedTuple

DEFAULT_URL = "http://127.0.0.1:8080"
POLL_SECONDS = 0.25


class Outcome(NamedTuple):
    """One look at the server: done (exit 0), failed (exit 1 now) or waiting (keep polling)."""

    state: str
    message: str


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{value!r} is not an http:// or https:// URL")
    return value.rstrip("/")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("the timeout must be more than 0 seconds")
    return seconds


def add_commands(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    p = sub.add_parser("wait", help="wait until a lynkflow is ready (with --seeded: and its seed media ingested)")
    p.add_argument("--url", type=_url, default=os.environ.get("LYNKFLOW_PUBLIC_URL") or DEFAULT_URL,
                   help="the lynkflow to wait for (LYNKFLOW_PUBLIC_URL when set)")
    p.add_argument("--timeout", type=_seconds, default=60.0, help="seconds to wait before giving up")
    p.add_argument("--seeded", action="store_true",
                   help="also wait until every media item of the seed is ingested (fail if one failed)")
    p.set_defaults(fn=cmd_wait)


def look(http, url: str, seeded: bool) -> Outcome:  # noqa: ANN001 - an httpx.Client
    import httpx

    try:
        resp = http.get(f"{url}/_lynkflow/ready")
    except httpx.HTTPError as exc:
        return Outcome("waiting", f"does not answer ({type(exc).__name__}: {exc})")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "ready" not in body:
        return Outcome("waiting", f"answers HTTP {resp.status_code} without a lynkflow readiness document")
    if resp.status_code != 200:
        failing = [name for name, ok in (body.get("checks") or {}).items() if not ok]
        return Outcome("waiting", "is not ready yet (" + (", ".join(failing) or f"HTTP {resp.status_code}") + ")")
    if not seeded:
        return Outcome("done", f"lynkflow at {url} is ready")
    seed = body.get("seed")
    if not isinstance(seed, dict):
        return Outcome("failed", f"{url} does not report seed progress (a lynkflow older than this command?)")
    if not seed.get("applied"):
        return Outcome("failed", f"{url} applied no seed (start it with LYNKFLOW_SEED_FILE, or drop --seeded)")
    if seed.get("failed"):
        ids = ", ".join(str(i) for i in seed["failed"])
        return Outcome("failed", f"seed media job(s) {ids} failed (GET {url}/_lynkflow/jobs/<id> says why)")
    if seed.get("pending"):
        return Outcome("waiting", f"is ingesting its seed media ({seed['pending']} of {seed['mediaJobs']} job(s) "
                                  "not done yet)")
    return Outcome("done", f"lynkflow at {url} is ready; seed media done ({seed.get('mediaJobs', 0)} job(s))")


def cmd_wait(args: argparse.Namespace) -> int:
    import httpx

    token = os.environ.get("LYNKFLOW_ADMIN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + args.timeout
    with httpx.Client(timeout=min(5.0, args.timeout), headers=headers) as http:
        while True:
            outcome = look(http, args.url, args.seeded)
            if outcome.state == "done":
                print(outcome.message, flush=True)
                return 0
            if outcome.state == "failed":
                print(f"lynkflow wait: {outcome.message}", file=sys.stderr)
                return 1
            left = deadline - time.monotonic()
            if left <= 0:
                print(f"lynkflow wait: gave up after {args.timeout:g} s: {args.url} {outcome.message}",
                      file=sys.stderr)
                return 1
            time.sleep(min(POLL_SECONDS, left))
