"""The `lynkflow` command: serve, worker, migrate, seed, reset, ingest, export, import, wait."""

from __future__ import annotations

import argparse
import contextlib
import errno
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lynkflow import __version__

if TYPE_CHECKING:
    from lynkflow.config import Settings

SWITCH_INTERVAL = 0.001  # seconds; see cmd_serve


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except the empty ones (None, False) that mean "not given"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """Every (sub)command's --help shows defaults: subparsers are made with the parser's own class."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - argparse's own signature
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def _settings() -> Settings:
    # Imported here, not at the top: pydantic-settings is the first heavy import of a start, and
    # `lynkflow serve` pauses the garbage collector before it (see main and lynkflow/startgc.py).
    from lynkflow.config import SettingsError, load_settings

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


def _listen(host: str, port: int) -> socket.socket | None:
    """Bind and listen before anything else starts, so a busy port is one line and no banner."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
    try:
        sock.bind((host, port))
        sock.listen(2048)  # connections queue from now on and are answered once the app is up
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            print(f"lynkflow serve: port {port} on {host} is already in use (another lynkflow?); "
                  "stop it or choose another --port", file=sys.stderr)
        else:
            print(f"lynkflow serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return None
    return sock


def cmd_serve(args: argparse.Namespace) -> int:
    from lynkflow.db.migrate import migrations_dir

    settings = _settings()
    migrations_dir()  # refuse at once, in one line, when the installation has no migration files
    sock = _listen(args.host, args.port)
    if sock is None:
        return 1
    import uvicorn

    from lynkflow.context import build_context
    from lynkflow.logging import configure_logging
    from lynkflow.main import build_route_state_in_background, create_app

    configure_logging()
    # The event loop shares the GIL with the thread pool where database work runs: a CPU-bound request
    # there (rendering a 100-asset page) holds it for up to the switch interval each time the loop asks,
    # and an unrelated request needs the loop several times. 1 ms instead of Python's 5 took the delay
    # a deep asset/list page adds to /_lynkflow/health from 44 to 4 ms at p99 (bench/isolation.py).
    sys.setswitchinterval(SWITCH_INTERVAL)
    workers = args.workers or settings.workers
    if workers > 1:
        from lynkflow import serve_processes

        serve_processes.serve(settings, sock, args.host, args.port, workers,
                              lambda: print(banner(settings, args.host, args.port), flush=True))
        return 0
    ctx = build_context(settings)
    ctx.address = f"{args.host}:{args.port}"

    def on_ready() -> None:
        # Printed once the port is bound and migrations, seed and workers are up: the URLs shown answer.
        print(banner(settings, args.host, args.port), flush=True)
        # After the first answer (uvicorn counts completed responses): the readiness probe first.
        build_route_state_in_background(app, after=lambda: server.server_state.total_requests > 0)

    ctx.on_ready = on_ready
    app = create_app(settings, ctx=ctx)
    server = uvicorn.Server(uvicorn.Config(app, access_log=False, log_level="warning",
                                           timeout_keep_alive=settings.keep_alive))
    server.run(sockets=[sock])
    return 0


def describe_target(settings: Settings) -> str:
    """The database (password hidden) and data dir a command acts on."""
    from sqlalchemy.engine import make_url

    database = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    return f"database {database}, data dir {settings.resolved_data_dir}"


def _context(*, announce: bool = True):
    """The migrated context of a command that reads or changes state; first says which state."""
    from sqlalchemy.exc import OperationalError

    from lynkflow.context import build_context
    from lynkflow.main import prepare

    settings = _settings()
    if announce:
        print(f"lynkflow: using {describe_target(settings)}", flush=True)
    ctx = build_context(settings)
    try:
        prepare(ctx)
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"lynkflow: cannot use the database: {reason}", file=sys.stderr)
        raise SystemExit(1) from None
    return ctx


def _stop_like_ctrl_c(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def cmd_worker(args: argparse.Namespace) -> int:
    from lynkflow.db.presence import Presence
    from lynkflow.jobs.workers import WorkerPool
    from lynkflow.logging import configure_logging

    configure_logging()
    ctx = _context(announce=False)
    pool = WorkerPool(ctx, count=args.threads)
    presence = Presence(ctx.engine, "worker")
    presence.start()
    print(f"lynkflow worker: {args.threads} thread(s) on {describe_target(ctx.settings)}", flush=True)
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)  # `docker stop`, `kill`: clean up as on Ctrl-C
    try:
        with contextlib.suppress(KeyboardInterrupt):
            pool.run_until_stopped()
    finally:
        presence.stop()
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from lynkflow.context import build_context
    from lynkflow.db.migrate import current_revision, migrate_to_head

    settings = _settings()
    print(f"lynkflow: using {describe_target(settings)}", flush=True)
    ctx = build_context(settings)
    migrate_to_head(ctx.engine)
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


def cmd_reset(args: argparse.Namespace) -> int:
    from lynkflow.db.presence import live_processes
    from lynkflow.domain.reset import reset_everything

    ctx = _context()
    live = live_processes(ctx.engine)
    if live and not args.yes:
        print(f"lynkflow reset: a live {live[0].describe()} uses this database; reset through it "
              "(POST /_lynkflow/reset) or pass --yes", file=sys.stderr)
        return 1
    reset_everything(ctx)
    from lynkflow.control.state_routes import drop_caches

    drop_caches(ctx)  # live servers drop their cached API keys too
    print("reset: all data removed (default accounts recreated)")
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="lynkflow", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the APIs, control plane, dashboard and in-process workers")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for every interface)")
    s.add_argument("--port", type=int, default=8080, help="TCP port to listen on")
    s.add_argument("--workers", type=_positive, default=None,
                   help="HTTP processes on the port (default: LYNKFLOW_WORKERS, else 1)")
    s.set_defaults(fn=cmd_serve)
    w = sub.add_parser("worker", help="run a standalone job worker")
    w.add_argument("--threads", type=int, default=1, help="jobs run at the same time")
    w.set_defaults(fn=cmd_worker)
    sub.add_parser("migrate", help="upgrade the configured database to the newest schema").set_defaults(
        fn=cmd_migrate)
    sd = sub.add_parser("seed", help="apply a seed file")
    sd.add_argument("file", nargs="?", help="seed file (default: LYNKFLOW_SEED_FILE)")
    sd.set_defaults(fn=cmd_seed)
    r = sub.add_parser("reset", help="remove all data and stored files")
    r.add_argument("--yes", action="store_true", help="reset even while a live lynkflow uses the database")
    r.set_defaults(fn=cmd_reset)
    for extra in _extra_commands():
        extra(sub)
    return p


def _extra_commands():
    """Commands contributed by other modules (ingest, export/import, wait)."""
    from lynkflow.cli_media import add_commands as media_commands
    from lynkflow.cli_state import add_commands as state_commands
    from lynkflow.cli_wait import add_commands as wait_commands

    return [media_commands, state_commands, wait_commands]


def main(argv: list[str] | None = None) -> int:
    from lynkflow.db.migrate import MigrationsMissing

    args = build_parser().parse_args(argv)
    if args.fn is cmd_serve:
        from lynkflow import startgc

        startgc.pause()  # resumed by the app's lifespan once it serves
    try:
        return int(args.fn(args) or 0)
    except MigrationsMissing as exc:
        print(f"lynkflow: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.fn is cmd_serve:
            startgc.resume()  # a start that failed before serving (a caller in-process goes on)


if __name__ == "__main__":
    raise SystemExit(main())
