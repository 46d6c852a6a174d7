"""Start-up time: process start → first 200 from the readiness URL.

`lynkflow serve` on an existing data dir (the usual restart) and on an empty one (migrations
run), side by side with a minimal FastAPI app under uvicorn, runs interleaved.
Prints medians and the ratio (goal: ≤ 1.5×).

    .venv/bin/python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

MINIMAL_APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/ready")
    def ready():
        return {"ready": True}
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc), for the CPU column."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_to_ready(cmd: list[str], url: str, env: dict[str, str], cwd: str | None = None,
                  cpu: list[float] | None = None) -> float:
    """Seconds from process start to the first 200 from `url`; appends the CPU seconds the process
    used by then to `cpu` (what it costs, much less disturbed than wall time by a busy machine)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=0.5) as r:
                    if r.status == 200:
                        elapsed = time.perf_counter() - start
                        if cpu is not None:
                            cpu.append(cpu_seconds(proc.pid))
                        return elapsed
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd} exited with {proc.returncode}")
            time.sleep(0.005)
    finally:
        proc.terminate()
        proc.wait(10)


def time_process(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    bin_dir = Path(sys.executable).parent
    fresh, warm, mini = [], [], []
    fresh_cpu: list[float] = []
    warm_cpu: list[float] = []
    mini_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "minimal_app.py").write_text(MINIMAL_APP)
        for i in range(args.runs):
            env = {**os.environ, "LYNKFLOW_DATA_DIR": f"{tmp}/data{i}"}
            port = free_port()
            fresh.append(time_to_ready([str(bin_dir / "lynkflow"), "serve", "--port", str(port)],
                                       f"http://127.0.0.1:{port}/_lynkflow/ready", env, cpu=fresh_cpu))
            port = free_port()  # the same data dir again: the usual restart
            warm.append(time_to_ready([str(bin_dir / "lynkflow"), "serve", "--port", str(port)],
                                      f"http://127.0.0.1:{port}/_lynkflow/ready", env, cpu=warm_cpu))
            port = free_port()
            mini.append(time_to_ready([str(bin_dir / "uvicorn"), "minimal_app:app", "--port", str(port),
                                       "--log-level", "warning"], f"http://127.0.0.1:{port}/ready",
                                      dict(os.environ), cwd=tmp, cpu=mini_cpu))
    floor, bare = [], []
    for _ in range(args.runs):
        # What the fixed stack of DESIGN.md costs before any lynkflow code runs, for context.
        bare.append(time_process([sys.executable, "-c", "import fastapi, uvicorn, fastapi.openapi.models"]))
        floor.append(time_process([sys.executable, "-c", "import fastapi, uvicorn, fastapi.openapi.models, "
                                   "sqlalchemy.orm, pydantic_settings"]))
    fm, wm, mm = statistics.median(fresh), statistics.median(warm), statistics.median(mini)
    print(f"start → ready, median of {args.runs} interleaved runs")
    print(f"  minimal FastAPI app                   {mm * 1000:7.0f} ms")
    print(f"  lynkflow serve, existing data dir     {wm * 1000:7.0f} ms   ratio {wm / mm:5.2f}×  (goal ≤ 1.5×)")
    print(f"  lynkflow serve, empty dir (migrates)  {fm * 1000:7.0f} ms   ratio {fm / mm:5.2f}×")
    fc, wc, mc = statistics.median(fresh_cpu), statistics.median(warm_cpu), statistics.median(mini_cpu)
    print("CPU time used by the server process by then (steadier than wall time on a busy machine)")
    print(f"  minimal FastAPI app                   {mc * 1000:7.0f} ms")
    print(f"  lynkflow serve, existing data dir     {wc * 1000:7.0f} ms   ratio {wc / mc:5.2f}×")
    print(f"  lynkflow serve, empty dir (migrates)  {fc * 1000:7.0f} ms   ratio {fc / mc:5.2f}×")
    fl, br = statistics.median(floor), statistics.median(bare)
    print("context: interpreter start + imports only")
    print(f"  FastAPI + uvicorn                     {br * 1000:7.0f} ms")
    print(f"  + SQLAlchemy ORM + pydantic-settings  {fl * 1000:7.0f} ms   ratio {fl / br:5.2f}×  (fixed-stack floor)")


if __name__ == "__main__":
    main()
