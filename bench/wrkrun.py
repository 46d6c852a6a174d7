"""What the wrk-based benchmarks share: ports, readiness, process memory, signed bodies, wrk runs.

Every run is bounded (wrk's `-d`) and aimed at 127.0.0.1 only. Signed api2 bodies are all distinct
(a `_nonce` each), because the server's replay guard refuses a msg/sig pair it has seen.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode


def free_port() -> int:
    """A free port on 127.0.0.1; within BENCH_PORTS=LOW-HIGH when set (a shared machine's lanes)."""
    low, _, high = os.environ.get("BENCH_PORTS", "0-0").partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in BENCH_PORTS={os.environ['BENCH_PORTS']}")


def wait_for_200(proc: subprocess.Popen, url: str, timeout: float = 60.0) -> float:
    """Seconds from now until `url` answers 200 (polled every 5 ms); raises if the process dies."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=0.5) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except (OSError, urllib.error.URLError):
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (Prism runs node children), in MB."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (OSError, AttributeError):
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants (`serve --workers` forks), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    return total


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def signed_bodies(owner: str, key: str, params: dict, n: int, tag: str = "") -> list[str]:
    """`n` distinct, form-encoded signed api2 bodies for the same call."""
    from lynkflow.testing.signing import sign

    ts = int(time.time())
    out = []
    for i in range(n):
        doc = {**params, "_owner": owner, "_timestamp": ts, "_nonce": f"{tag}{i}"}
        msg = base64.b64encode(zlib.compress(json.dumps(doc).encode(), 1)).decode()
        out.append(urlencode({"msg": msg, "sig": sign(msg, key)}))
    return out


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    api_errors: int  # answers that are HTTP 200 but an api2 error document (counted by the Lua script)

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors + self.api_errors


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, seconds: float, *, connections: int = 32, threads: int = 2, lua: Path | None = None,
            timeout_s: int = 5) -> WrkResult:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s",
           "--latency"]
    tail = [url]
    if lua is not None:
        cmd += ["-s", str(lua)]
        tail += ["--", str(threads)]  # the script's stride (see _LUA_TAIL)
    done = subprocess.run(cmd + tail, capture_output=True, text=True, check=True, timeout=seconds + 60)
    out = done.stdout
    if lua is not None and not re.search(r"script requests:\s+[1-9]", out):
        # wrk reports a script that does not load on stderr and goes on with `GET /`: refuse the figures.
        raise RuntimeError(f"wrk did not run the script {lua}: {done.stderr.strip() or out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)) else 0
    sock = 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        sock = sum(int(x) for x in m.groups())
    api = int(m.group(1)) if (m := re.search(r"api errors:\s+(\d+)", out)) else 0
    return WrkResult(rps, p50, p99, non2xx, sock, api)


# A wrk script: requests are picked from a table, each thread walking its own stride so no body is
# sent twice while the table lasts; api2 error documents (HTTP 200, "error": 1) are counted.
# The table is read from a data file beside the script at start: a table written into the script
# itself stops compiling past 65,536 constants, and wrk then silently sends `GET /` instead.
_LUA = """
local data = %s
local counter = 0
local threads = {}
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  -- Each line: method, path, body (empty: none), then header names and values; tab-separated.
  reqs = {}
  for line in io.lines(data) do
    local f = {}
    for field in string.gmatch(line, "([^\\t]*)\\t?") do table.insert(f, field) end
    local headers = {}
    for i = 4, #f - 1, 2 do headers[f[i]] = f[i + 1] end
    local body = f[3]
    if body == "" then body = nil end
    table.insert(reqs, wrk.format(f[1], f[2], headers, body))
  end
  if #reqs == 0 then error("no requests in " .. data) end
  -- Each thread walks its own residue class: thread i sends i, i + n, i + 2n, … (n threads).
  k = offset
  step = tonumber(args[1]) or 1
  bad = 0
  sent = 0
end
request = function()
  k = k + step
  sent = sent + 1
  return reqs[(k %% #reqs) + 1]
end
response = function(status, headers, body)
  if status == 200 and string.find(body, '"error":%%s*1') then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local total, scripted = 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
    scripted = scripted + t:get("sent")
  end
  io.write(string.format("api errors: %%d\\n", total))
  io.write(string.format("script requests: %%d\\n", scripted))
end
"""

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def write_lua(path: Path, requests: list[tuple[str, str, str | None, dict[str, str]]]) -> None:
    """requests: (method, path, body or None, headers). Writes the script and its data file
    (`path` with the suffix `.tsv`)."""
    data = path.with_suffix(".tsv")
    lines = []
    for method, req_path, body, headers in requests:
        fields = [method, req_path, body or "", *(x for kv in headers.items() for x in kv)]
        if any("\t" in f or "\n" in f for f in fields):
            raise ValueError(f"a tab or newline in a wrk request field: {fields!r}")
        lines.append("\t".join(fields))
    data.write_text("\n".join(lines) + "\n")
    path.write_text(_LUA % json.dumps(str(data)))


_PYCACHE = Path(__file__).resolve().parent.parent / ".cache" / "bench-pyc"


def server_env() -> dict[str, str]:
    """The environment of a bench server: the caller's minus LYNKFLOW_* (a bench server must not pick
    up a developer's settings), with Python's bytecode written to and read from .cache/bench-pyc.

    An installed package has its .pyc files, and FastAPI's come precompiled from site-packages, but a
    checkout's source has none where PYTHONDONTWRITEBYTECODE is set (as on the bench machine): every
    lynkflow start compiled its own ~150 modules, ~110 ms of CPU charged to lynkflow alone (770 vs
    660 ms at ready, medians of 7 interleaved starts). Entries are keyed by each source's path and
    checked against its mtime, so an exported revision or an edited file gets its own; a bench that
    times starts makes one untimed start first, so that none of the timed ones compiles."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYNKFLOW_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE)
    return env


# --- the HTTP server lynkflow runs under --------------------------------------------------------

SERVERS = ("uvicorn", "granian")  # uvicorn: `lynkflow serve` as shipped; granian: its one-process app
GRANIAN_SPEC = "granian~=2.8.0"
_BENCH = Path(__file__).resolve().parent
_GRANIAN_DIR = _BENCH.parent / ".cache" / "bench-peers" / "granian"


def ensure_granian() -> Path:
    """granian installed beside the venv (`pip --target`), not into it: the product does not use it."""
    if not (_GRANIAN_DIR / "granian").exists():
        print(f"installing {GRANIAN_SPEC} into {_GRANIAN_DIR} …", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(_GRANIAN_DIR), GRANIAN_SPEC],
                       check=True)
    return _GRANIAN_DIR


def lynkflow_command(server: str, port: int, *, workers: int = 1,
                     pythonpath: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The command that serves lynkflow on 127.0.0.1:`port`, and the environment it adds (PYTHONPATH).

    `pythonpath` (another revision's exported package) is searched first, under either server."""
    paths = [pythonpath] if pythonpath else []
    if server == "uvicorn":
        exe = Path(sys.executable).with_name("lynkflow")
        cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    elif server == "granian":
        if workers != 1:
            # Each granian worker would run the app's lifespan, so N of them would migrate the
            # database at once; `lynkflow serve --workers` prepares it once first. One is enough here.
            raise SystemExit("--server granian measures one HTTP process only")
        paths.append(str(ensure_granian()))
        # The app one process of `lynkflow serve --workers N` serves (settings from the environment).
        cmd = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
               "lynkflow.serve_processes:worker_app",
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws", "--log-level", "warning"]
    else:
        raise ValueError(f"unknown server {server!r}; one of {SERVERS}")
    return cmd, ({"PYTHONPATH": os.pathsep.join(paths)} if paths else {})
