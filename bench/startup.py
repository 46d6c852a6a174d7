"""Start-up time and idle memory: process start → first 200 from the readiness URL, and RSS.

`lynkflow serve` on an existing data dir (the usual restart) and on an empty one (the schema is
created), side by side with a minimal FastAPI app under uvicorn, runs interleaved. With
`--compare-to REV` the same is measured for another git revision in the same rounds (before/after).
Prints medians and the ratios (goal: ≤ 1.5×), the CPU time used by then (steadier than wall time
on a busy machine), and the resident memory at ready and once idle after a few requests (goal:
≤ 100 MB; the first requests build route state and load lazy imports).

Every server starts once, untimed, first: its bytecode is then in the benches' cache
(`wrkrun.server_env`), as a user's installed package has its .pyc files.

    .venv/bin/python bench/startup.py [--runs N] [--compare-to REV]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import export_revision  # noqa: E402
from wrkrun import cpu_seconds, free_port, rss_mb, server_env, stop  # noqa: E402

MINIMAL_APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/ready")
    def ready():
        return {"ready": True}
    """
)
IDLE_REQUESTS = 20  # after ready, before the idle RSS: what the first requests load stays loaded


@dataclass
class Server:
    """One way of starting a server, and what was measured of it."""

    name: str
    cmd: list[str]
    ready_path: str
    env: dict[str, str]
    cwd: str | None = None
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_ready: list[float] = field(default_factory=list)
    rss_idle: list[float] = field(default_factory=list)


def start_once(server: Server, env: dict[str, str], record: bool = True) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}{server.ready_path}"
    cmd = [*server.cmd, "--port", str(port)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=server.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=0.5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd} exited with {proc.returncode}")
            time.sleep(0.005)
        if not record:
            return
        server.wall.append(time.perf_counter() - start)
        server.cpu.append(cpu_seconds(proc.pid))
        server.rss_ready.append(rss_mb(proc.pid))
        for _ in range(IDLE_REQUESTS):
            urllib.request.urlopen(url, timeout=5).read()
        time.sleep(1.0)  # lynkflow builds route state in a thread after the first answer
        server.rss_idle.append(rss_mb(proc.pid))
    finally:
        stop(proc)


def lynkflow_servers(bin_dir: Path, base_env: dict[str, str], rev: str | None) -> tuple[Server, Server]:
    env = dict(base_env)
    label = "lynkflow serve"
    if rev:
        env["PYTHONPATH"] = str(export_revision(rev))  # found before the installed (editable) package
        label = f"lynkflow @{rev}"
    cmd = [str(bin_dir / "lynkflow"), "serve"]
    return (Server(f"{label}, existing data dir", cmd, "/_lynkflow/ready", env),
            Server(f"{label}, empty data dir", cmd, "/_lynkflow/ready", env))


def median_ms(xs: list[float]) -> float:
    return statistics.median(xs) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--compare-to", metavar="GIT_REV", help="also run lynkflow at this revision (before/after)")
    args = ap.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="lynkflow-bench-startup-") as tmp:
        base_env = server_env()
        Path(tmp, "minimal_app.py").write_text(MINIMAL_APP)
        minimal = Server("minimal FastAPI app", [str(bin_dir / "uvicorn"), "minimal_app:app", "--log-level",
                                                 "warning"], "/ready", base_env, cwd=tmp)
        pairs = [lynkflow_servers(bin_dir, base_env, None)]
        if args.compare_to:
            pairs.append(lynkflow_servers(bin_dir, base_env, args.compare_to))
        # Compile bytecode, untimed; a data dir per server, as revisions may differ in schema head.
        for k, server in enumerate([minimal, *(s for pair in pairs for s in pair)]):
            start_once(server, {**server.env, "LYNKFLOW_DATA_DIR": f"{tmp}/warmup-{k}"}, record=False)
        for i in range(args.runs):
            start_once(minimal, minimal.env)
            for n, (existing, empty) in enumerate(pairs):
                data = {"LYNKFLOW_DATA_DIR": f"{tmp}/data{i}-{n}"}
                start_once(empty, {**empty.env, **data})
                start_once(existing, {**existing.env, **data})  # the same data dir again: a restart
    mm, mc = median_ms(minimal.wall), median_ms(minimal.cpu)
    print(f"start → ready, medians of {args.runs} interleaved runs (ratio to the minimal app; goal ≤ 1.5×)")
    print(f"  {'server':42s} {'wall':>8s} {'ratio':>6s} {'CPU':>8s} {'ratio':>6s} {'RSS ready':>10s} "
          f"{'RSS idle':>9s}")
    for server in [minimal, *(s for pair in pairs for s in pair)]:
        wall, cpu = median_ms(server.wall), median_ms(server.cpu)
        print(f"  {server.name:42s} {wall:6.0f}ms {wall / mm:5.2f}× {cpu:6.0f}ms {cpu / mc:5.2f}× "
              f"{statistics.median(server.rss_ready):7.0f} MB {statistics.median(server.rss_idle):6.0f} MB")
    print(f"RSS idle: after {IDLE_REQUESTS} readiness requests and 1 s (goal ≤ 100 MB)")


if __name__ == "__main__":
    main()
