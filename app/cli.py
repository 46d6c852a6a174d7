"""The `lynkflow` command: serve, worker, migrate, seed, reset, ingest, export, import."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from lynkflow.config import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"lynkflow: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def banner(settings: Settings, host: str, port: int) -> str:
    base = settings.public_url or f"http://{host}:{port}"
    return "\n".join([
        "",
        "lynkflow is up",
        f"  dashboard          {base}/",
        f"  API docs           {base}/docs",
        f"  Uplynk api2        {base}/api2/asset/list   (signed msg/sig)",
        f"  VIS                {base}/api/event/        (header API-KEY)",
        f"  control plane      {base}/_lynkflow/ready",
        "",
        f"  Uplynk owner id    {settings.uplynk_owner}",
        f"  Uplynk API key     {settings.uplynk_api_key}",
        f"  VIS API key        {settings.vuflow_api_key}",
        f"  data dir           {settings.resolved_data_dir}",
        "",
    ])


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from lynkflow.context import build_context
    from lynkflow.db.migrate import migrations_dir
    from lynkflow.logging import configure_logging
    from lynkflow.main import create_app

    settings = _settings()
    migrations_dir()  # refuse at once, in one line, when the installation has no migration files
    configure_logging()
    ctx = build_context(settings)
    # Printed once migrations, seed and workers are up, so the URLs shown already answer.
    ctx.services["on_ready"] = lambda: print(banner(settings, args.host, args.port), flush=True)
    app = create_app(settings, ctx=ctx)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
    return 0


def _context():
    from lynkflow.context import build_context
    from lynkflow.main import prepare

    ctx = build_context(_settings())
    prepare(ctx)
    return ctx


def cmd_worker(args: argparse.Namespace) -> int:
    from lynkflow.jobs.workers import WorkerPool
    from lynkflow.logging import configure_logging

    configure_logging()
    ctx = _context()
    pool = WorkerPool(ctx, count=args.threads)
    print(f"lynkflow worker: {args.threads} thread(s) on {ctx.engine.url.render_as_string()}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        pool.run_until_stopped()
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from lynkflow.context import build_context
    from lynkflow.db.migrate import current_revision, upgrade

    ctx = build_context(_settings())
    upgrade(ctx.engine)
    print(f"database at revision {current_revision(ctx.engine)}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from lynkflow.seeding import SeedError, apply_seed, load_seed_file

    ctx = _context()
    path = Path(args.file) if args.file else ctx.settings.seed_file
    if path is None:
        print("lynkflow seed: give a seed FILE or set LYNKFLOW_SEED_FILE", file=sys.stderr)
        return 2
    try:
        counts = apply_seed(ctx, load_seed_file(path))
    except SeedError as exc:
        print(f"lynkflow seed: {exc}", file=sys.stderr)
        return 2
    print("seeded: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def cmd_reset(_args: argparse.Namespace) -> int:
    from lynkflow.domain.reset import reset_everything

    ctx = _context()
    reset_everything(ctx)
    print("reset: all data removed (default accounts recreated)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lynkflow", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the APIs, control plane, dashboard and in-process workers")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.set_defaults(fn=cmd_serve)
    w = sub.add_parser("worker", help="run a standalone job worker")
    w.add_argument("--threads", type=int, default=1)
    w.set_defaults(fn=cmd_worker)
    sub.add_parser("migrate", help="upgrade the configured database to the newest schema").set_defaults(
        fn=cmd_migrate)
    sd = sub.add_parser("seed", help="apply a seed file")
    sd.add_argument("file", nargs="?")
    sd.set_defaults(fn=cmd_seed)
    sub.add_parser("reset", help="remove all data and stored files").set_defaults(fn=cmd_reset)
    for extra in _extra_commands():
        extra(sub)
    return p


def _extra_commands():
    """Commands contributed by other modules (ingest, export/import)."""
    from lynkflow.cli_media import add_commands as media_commands
    from lynkflow.cli_state import add_commands as state_commands

    return [media_commands, state_commands]


def main(argv: list[str] | None = None) -> int:
    from lynkflow.db.migrate import MigrationsMissing

    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except MigrationsMissing as exc:
        print(f"lynkflow: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
