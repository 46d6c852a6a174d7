"""lynkflow next to its peers, from one run: a bare FastAPI app, Stoplight Prism, moto's server,
and the floor (bench/floor_app.py: the fixed stack doing only what a signed DB-backed read must).

For each system, in interleaved rounds with fresh processes: start → first 200, the trivial route
and the read route under wrk (-t2 -c32) with the server's CPU time per read request, and idle RSS
(the process and its children, before load). Prints medians and lynkflow's ratios against the goals
of issue #14. Each row names the HTTP server it runs on.

lynkflow runs as `lynkflow serve` (uvicorn), as shipped. `--server uvicorn granian` adds a row of
the same app under granian (`lynkflow.serve_processes.worker_app`) and the ratios between the two: what the server
itself costs. The bare FastAPI row stays on uvicorn, the issue's reference.

Prism (npm `@stoplight/prism-cli`), moto's server (PyPI `moto[server]`) and granian are installed
into `.cache/bench-peers/` on first use. Everything listens on 127.0.0.1 and every load run is bounded.

    .venv/bin/python bench/peers.py [--seconds 8] [--rounds 3] [--only lynkflow,fastapi,prism,moto,floor]
                                    [--server uvicorn granian]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from wrkrun import (  # noqa: E402
    FORM,
    SERVERS,
    cpu_seconds,
    free_port,
    lynkflow_command,
    rss_mb,
    run_wrk,
    server_env,
    signed_bodies,
    stop,
    wait_for_200,
    write_lua,
)

CACHE = REPO / ".cache" / "bench-peers"
PRISM_VERSION = "5"

BARE_APP = textwrap.dedent(
    """
    from fastapi import FastAPI, Form
    app = FastAPI()

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.post("/echo")
    async def echo(msg: str = Form(...), sig: str = Form(...)):
        return {"msg": msg[:16], "sig": sig[:16], "error": 0}
    """
)

# The asset/get answer Prism serves as a static example (the shape of a real one, trimmed).
ASSET_EXAMPLE = {
    "error": 0,
    "asset": {"id": "0123456789abcdef0123456789abcdef", "external_id": "bench", "desc": "bench asset",
              "state": "ready", "duration": 10.0, "created": 1600000000000, "lastmod": 1600000000000,
              "meta": {"k": "v"}, "source": "file", "job_type": "vod", "rays": 4, "slices": 3,
              "thumb_url": "http://127.0.0.1/thumb.jpg", "poster_url": "http://127.0.0.1/poster.jpg"},
}


def prism_spec() -> dict:
    form = {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": {"msg": {"type": "string"}, "sig": {"type": "string"}}}}}
    ok = {"description": "ok", "content": {"application/json": {"example": None}}}
    health = json.loads(json.dumps(ok))
    health["content"]["application/json"]["example"] = {"status": "ok"}
    get = json.loads(json.dumps(ok))
    get["content"]["application/json"]["example"] = ASSET_EXAMPLE
    return {
        "openapi": "3.0.3",
        "info": {"title": "asset/get static mock", "version": "1"},
        "paths": {
            "/health": {"get": {"responses": {"200": health}}},
            "/api2/asset/get": {"post": {"requestBody": {"content": form}, "responses": {"200": get}}},
        },
    }


# --- installing the peers ------------------------------------------------------------------------


def ensure_prism() -> Path:
    exe = CACHE / "prism" / "node_modules" / ".bin" / "prism"
    if not exe.exists():
        print(f"installing @stoplight/prism-cli@{PRISM_VERSION} into {exe.parent.parent.parent} …", flush=True)
        (CACHE / "prism").mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(CACHE / "prism"),
                        f"@stoplight/prism-cli@{PRISM_VERSION}"], check=True)
    return exe


def ensure_moto() -> Path:
    venv = CACHE / "moto"
    exe = venv / "bin" / "moto_server"
    if not exe.exists():
        print(f"installing moto[server] into {venv} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "moto[server]"], check=True)
    return exe


# --- the systems ---------------------------------------------------------------------------------


@dataclass
class System:
    name: str
    trivial_label: str
    read_label: str
    launch: Callable[[Path, int], tuple[list[str], Path, dict[str, str]]]
    ready_path: str
    trivial_path: str | None
    read: Callable[[Path, int, int], tuple[str, Path | None]] | None  # (tmp, port, round) → (path, lua)
    results: dict[str, list[float]] = field(default_factory=lambda: {"start": [], "trivial": [], "read": [],
                                                                      "read_cpu": [], "rss": [], "errors": []})


def export_revision(rev: str) -> Path:
    """The `lynkflow` package of a git revision, laid out as the wheel has it, for a side-by-side run."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    root = CACHE / f"rev-{sha[:12]}"
    if not (root / "lynkflow" / "cli.py").exists():
        src = root / "src"
        src.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha, "app", "migrations", "fixtures"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        (src / "app").rename(root / "lynkflow")
        (src / "migrations").rename(root / "lynkflow" / "migrations")
        (src / "fixtures").rename(root / "lynkflow" / "fixtures")
    return root


def lynkflow_system(seconds: float, rev: str | None = None, server: str = "uvicorn") -> System:
    creds: dict[str, str] = {}
    # Another revision runs from its exported package, found first on PYTHONPATH.
    pythonpath = str(export_revision(rev)) if rev else None

    def launch(tmp: Path, port: int) -> tuple[list[str], Path, dict[str, str]]:
        data = tmp / f"lynkflow-{port}"
        if data.exists():  # a port used again by a later round: start from an empty data dir again
            shutil.rmtree(data)
        cmd, extra = lynkflow_command(server, port, pythonpath=pythonpath)
        env = {**server_env(), "LYNKFLOW_DATA_DIR": str(data), "LYNKFLOW_INPROC_WORKERS": "0", **extra}
        return cmd, tmp, env

    def read(tmp: Path, port: int, rnd: int) -> tuple[str, Path | None]:
        import httpx

        from lynkflow.config import Settings

        s = Settings(data_dir=tmp / f"lynkflow-{port}")
        creds.update(owner=s.uplynk_owner, key=s.uplynk_api_key)
        # One real asset through the API's own domain code, in the server's database.
        from lynkflow.context import build_context
        from lynkflow.domain import uplynk_assets as dom

        ctx = build_context(Settings(data_dir=tmp / f"lynkflow-{port}", inproc_workers=0))
        with ctx.session() as db:
            asset_id = dom.create_asset(db, ctx, owner_id=s.uplynk_owner, media_id=None, external_id="bench",
                                        desc="bench asset", meta={"k": "v"}).id
        ctx.engine.dispose()
        check = signed_bodies(s.uplynk_owner, s.uplynk_api_key, {"id": asset_id}, 1, tag="check")[0]
        answer = httpx.post(f"http://127.0.0.1:{port}/api2/asset/get", content=check, headers=FORM).json()
        assert answer["error"] == 0 and answer["asset"]["id"] == asset_id, answer
        bodies = signed_bodies(s.uplynk_owner, s.uplynk_api_key, {"id": asset_id}, int(max(20_000, 7_000 * seconds)),
                               tag=f"r{rnd}-")
        lua = tmp / f"lynkflow-get-{rnd}.lua"
        write_lua(lua, [("POST", "/api2/asset/get", b, FORM) for b in bodies])
        return "/api2/asset/get", lua

    # The server in the name: `serve` as shipped runs uvicorn; --server granian runs the same app under granian.
    name = f"lynkflow @{rev} ({server})" if rev else f"lynkflow ({server}, no in-process worker)"
    return System(name, "/_lynkflow/health", "signed DB-backed asset/get",
                  launch, "/_lynkflow/health", "/_lynkflow/health", read)


def fastapi_system() -> System:
    bin_dir = Path(sys.executable).parent

    def launch(tmp: Path, port: int) -> tuple[list[str], Path, dict[str, str]]:
        (tmp / "bare_app.py").write_text(BARE_APP)
        return [str(bin_dir / "uvicorn"), "bare_app:app", "--host", "127.0.0.1", "--port", str(port),
                "--no-access-log", "--log-level", "warning"], tmp, server_env()

    def read(tmp: Path, port: int, rnd: int) -> tuple[str, Path | None]:
        lua = tmp / "bare-echo.lua"
        write_lua(lua, [("POST", "/echo", "msg=aGVsbG8gd29ybGQ%3D&sig=0123456789abcdef", FORM)])
        return "/echo", lua

    return System("bare FastAPI (uvicorn, 1 worker)", "async def GET", "form POST echo",
                  launch, "/health", "/health", read)


def floor_system(seconds: float) -> System:
    """The fixed stack doing only what a signed DB-backed asset/get must (bench/floor_app.py)."""
    bin_dir = Path(sys.executable).parent
    owner, key = "f" * 32, "floor-key"

    def launch(tmp: Path, port: int) -> tuple[list[str], Path, dict[str, str]]:
        db = tmp / f"floor-{port}.sqlite"
        db.unlink(missing_ok=True)
        env = {**server_env(), "FLOOR_DB": str(db), "FLOOR_OWNER": owner, "FLOOR_KEY": key,
               "PYTHONPATH": str(Path(__file__).resolve().parent)}
        return [str(bin_dir / "uvicorn"), "floor_app:app", "--host", "127.0.0.1", "--port", str(port),
                "--no-access-log", "--log-level", "warning"], tmp, env

    def read(tmp: Path, port: int, rnd: int) -> tuple[str, Path | None]:
        import sqlite3

        import httpx

        asset = ASSET_EXAMPLE["asset"]
        with sqlite3.connect(tmp / f"floor-{port}.sqlite") as conn:
            conn.execute("INSERT INTO asset VALUES (?, ?, ?)", (asset["id"], owner, json.dumps(asset)))
        check = signed_bodies(owner, key, {"id": asset["id"]}, 1, tag="check")[0]
        answer = httpx.post(f"http://127.0.0.1:{port}/api2/asset/get", content=check, headers=FORM).json()
        assert answer["error"] == 0 and answer["asset"]["id"] == asset["id"], answer
        bodies = signed_bodies(owner, key, {"id": asset["id"]}, int(max(20_000, 9_000 * seconds)), tag=f"r{rnd}-")
        lua = tmp / f"floor-get-{rnd}.lua"
        write_lua(lua, [("POST", "/api2/asset/get", b, FORM) for b in bodies])
        return "/api2/asset/get", lua

    return System("floor (uvicorn): fixed stack, minimum work", "async def GET", "signed SQLite asset/get",
                  launch, "/health", "/health", read)


def prism_system() -> System:
    def launch(tmp: Path, port: int) -> tuple[list[str], Path, dict[str, str]]:
        spec = tmp / "prism-spec.json"
        spec.write_text(json.dumps(prism_spec()))
        return [str(ensure_prism()), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "error", str(spec)], tmp, \
            server_env()

    def read(tmp: Path, port: int, rnd: int) -> tuple[str, Path | None]:
        lua = tmp / "prism-get.lua"
        write_lua(lua, [("POST", "/api2/asset/get", "msg=aGVsbG8gd29ybGQ%3D&sig=0123456789abcdef", FORM)])
        return "/api2/asset/get", lua

    return System(f"Stoplight Prism {PRISM_VERSION} mock (Node http)", "GET /health example",
                  "static asset/get example", launch, "/health", "/health", read)


def moto_system() -> System:
    def launch(tmp: Path, port: int) -> tuple[list[str], Path, dict[str, str]]:
        env = {**server_env(), "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
        return [str(ensure_moto()), "-H", "127.0.0.1", "-p", str(port)], tmp, env

    def read(tmp: Path, port: int, rnd: int) -> tuple[str, Path | None]:
        return "/", None  # S3 ListBuckets

    return System("moto_server (Werkzeug)", "—", "S3 ListBuckets", launch, "/", None, read)


# --- the run -------------------------------------------------------------------------------------


def measure(system: System, tmp: Path, seconds: float, rnd: int) -> None:
    port = free_port()
    cmd, cwd, env = system.launch(tmp, port)
    log = (tmp / f"{system.name.split()[0]}-{port}.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        system.results["start"].append(wait_for_200(proc, base + system.ready_path))
        import time

        time.sleep(0.5)  # settle: what start-up allocated lazily is in the idle figure
        system.results["rss"].append(rss_mb(proc.pid))
        errors = 0
        if system.trivial_path is not None:
            run_wrk(base + system.trivial_path, 1)  # warm up
            r = run_wrk(base + system.trivial_path, seconds)
            system.results["trivial"].append(r.rps)
            errors += r.errors
        if system.read is not None:
            path, lua = system.read(tmp, port, rnd)
            cpu_before = cpu_seconds(proc.pid)
            r = run_wrk(base + path, seconds, lua=lua)
            # CPU per request moves less with a shared machine's other load than req/s does.
            cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1000 / max(1.0, r.rps * seconds)
            system.results["read_cpu"].append(cpu_ms)
            system.results["read"].append(r.rps)
            errors += r.errors
        system.results["errors"].append(errors)
    except Exception:
        log.flush()
        print(Path(log.name).read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        stop(proc)
        log.close()


def warm_up(system: System, tmp: Path) -> None:
    """One untimed start, so that no timed one compiles bytecode (`wrkrun.server_env`)."""
    port = free_port()
    cmd, cwd, env = system.launch(tmp, port)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_200(proc, f"http://127.0.0.1:{port}{system.ready_path}")
    finally:
        stop(proc)


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="lynkflow,fastapi,prism,moto,floor")
    ap.add_argument("--compare-to", metavar="GIT_REV", help="also run lynkflow at this revision (before/after)")
    ap.add_argument("--server", choices=SERVERS, nargs="+", default=["uvicorn"],
                    help="the HTTP server(s) lynkflow runs under: uvicorn is `lynkflow serve` as shipped; "
                         "granian serves the same app (`lynkflow.serve_processes.worker_app`); several: a row each")
    args = ap.parse_args()
    lynkflows = {("lynkflow" if server == args.server[0] else f"lynkflow-{server}"):
                 lynkflow_system(args.seconds, server=server) for server in args.server}
    factories = {"fastapi": fastapi_system,
                 "prism": prism_system, "moto": moto_system, "floor": lambda: floor_system(args.seconds)}
    systems = {}
    for k in args.only.split(","):
        # Each server lynkflow runs under is a row of its own, next to the first.
        systems.update(lynkflows if k == "lynkflow" else {k: factories[k]()})
    if args.compare_to:
        systems["before"] = lynkflow_system(args.seconds, args.compare_to)
    if "prism" in systems:
        ensure_prism()
    if "moto" in systems:
        ensure_moto()
    with tempfile.TemporaryDirectory(prefix="lynkflow-bench-peers-") as t:
        tmp = Path(t)
        for system in systems.values():
            warm_up(system, tmp)
        for rnd in range(args.rounds):
            for system in systems.values():
                measure(system, tmp, args.seconds, rnd)
            print(f"round {rnd + 1}/{args.rounds} done", flush=True)
    print(f"\nwrk -t2 -c32 {args.seconds:g} s, medians of {args.rounds} interleaved rounds, fresh processes")
    print(f"| {'system':44s} | start → 200 | trivial req/s | read req/s | read CPU/req | idle RSS | errors |")
    print(f"|{'-' * 46}|-------------|---------------|------------|--------------|----------|--------|")
    for s in systems.values():
        r = s.results
        trivial = f"{med(r['trivial']):8.0f}" if r["trivial"] else "       —"
        print(f"| {s.name:44s} | {med(r['start']):9.2f} s | {trivial}      | {med(r['read']):8.0f}   "
              f"| {med(r['read_cpu']):7.3f} ms | {med(r['rss']):5.0f} MB | {int(sum(r['errors'])):6d} |")
    # One entry per system, whatever server it runs under (dict.fromkeys: in order, without repeats).
    print("  trivial: " + "; ".join(dict.fromkeys(f"{s.name.split(' (')[0]}: {s.trivial_label}"
                                                  for s in systems.values())))
    print("  read:    " + "; ".join(dict.fromkeys(f"{s.name.split(' (')[0]}: {s.read_label}"
                                                  for s in systems.values())))
    lf = systems.get("lynkflow")
    if lf is not None:
        print("\nratios (issue #14 goals)")
        if "prism" in systems:
            ratio = med(lf.results["read"]) / med(systems["prism"].results["read"])
            print(f"  signed asset/get vs Prism's static mock  {ratio:5.2f}×  (goal ≥ 1.2×)")
        if "fastapi" in systems:
            fa = systems["fastapi"].results
            print(f"  trivial route vs bare FastAPI route      {med(lf.results['trivial']) / med(fa['trivial']):5.2f}×"
                  "  (goal ≥ 0.8×)")
            print(f"  start → 200 vs bare FastAPI              {med(lf.results['start']) / med(fa['start']):5.2f}×"
                  "  (goal ≤ 1.5×; empty data dir)")
        if "moto" in systems:
            ratio = med(lf.results["read"]) / med(systems["moto"].results["read"])
            print(f"  signed asset/get vs moto ListBuckets     {ratio:5.2f}×")
        print(f"  idle RSS                                 {med(lf.results['rss']):5.0f} MB  (goal ≤ 100 MB)")
        for other in (s for k, s in systems.items() if k.startswith("lynkflow-")):
            # The same app under another server (--server): what the server itself costs.
            o, r = other.results, lf.results
            ratios = ", ".join(f"{label} {med(o[key]) / med(r[key]):4.2f}×" for label, key in
                               [("read", "read"), ("read CPU/req", "read_cpu"), ("trivial", "trivial"),
                                ("start", "start"), ("RSS", "rss")])
            print(f"  {other.name.split(',')[0]}) vs {lf.name.split(',')[0]}): {ratios}")
    floor = systems.get("floor")
    if floor is not None:
        # What no change to lynkflow can beat on the fixed stack: the same goals, met by the floor?
        print("\nthe floor (bench/floor_app.py: fixed stack, minimum work) against the same goals")
        if "prism" in systems:
            ratio = med(floor.results["read"]) / med(systems["prism"].results["read"])
            print(f"  floor signed asset/get vs Prism          {ratio:5.2f}×  (goal for lynkflow ≥ 1.2×)")
        if lf is not None:
            ratio = med(lf.results["read"]) / med(floor.results["read"])
            print(f"  lynkflow signed asset/get vs the floor   {ratio:5.2f}×")
        if "fastapi" in systems:
            fa = systems["fastapi"].results
            print(f"  floor start → 200 vs bare FastAPI        {med(floor.results['start']) / med(fa['start']):5.2f}×"
                  "  (goal for lynkflow ≤ 1.5×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
