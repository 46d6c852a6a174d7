"""Run a live lynkflow as a subprocess on a free port with its own data dir (for tests and scripts).

    with LynkflowServer(tmp_path / "lynkflow") as server:
        print(server.base_url)          # http://127.0.0.1:<port>

The child gets a clean environment: every inherited LYNKFLOW_* variable is dropped (so a test
server never points at a developer's real database or data dir) and only the ones passed in
`env` are set, plus its own LYNKFLOW_DATA_DIR.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from lynkflow.config import DEFAULT_UPLYNK_API_KEY, DEFAULT_UPLYNK_OWNER, DEFAULT_VUFLOW_API_KEY

# Inherited variables a test server may keep: they pick tools, not state.
_INHERITABLE = ("LYNKFLOW_FFMPEG", "LYNKFLOW_JOB_LEASE")


class ServerError(RuntimeError):
    """The server did not start (the message holds the end of its output)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Credentials:
    """The default accounts' credentials of a lynkflow started with `env` (LYNKFLOW_* variables)."""

    env: dict[str, str]

    @property
    def uplynk_owner(self) -> str:
        return self.env.get("LYNKFLOW_UPLYNK_OWNER", DEFAULT_UPLYNK_OWNER)

    @property
    def uplynk_api_key(self) -> str:
        return self.env.get("LYNKFLOW_UPLYNK_API_KEY", DEFAULT_UPLYNK_API_KEY)

    @property
    def vuflow_api_key(self) -> str:
        return self.env.get("LYNKFLOW_VUFLOW_API_KEY", DEFAULT_VUFLOW_API_KEY)

    @property
    def admin_token(self) -> str | None:
        return self.env.get("LYNKFLOW_ADMIN_TOKEN")


class LynkflowServer(Credentials):
    """One `lynkflow serve` child process."""

    def __init__(self, data_dir: Path, *, env: dict[str, str] | None = None, host: str = "127.0.0.1",
                 port: int | None = None, python: str = sys.executable, name: str | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.env = {k: str(v) for k, v in (env or {}).items()}
        self.host = host
        self.port = port
        self.python = python
        self._proc: subprocess.Popen[bytes] | None = None
        # Named apart when several servers share one data dir (many processes, one instance).
        self._log_path = self.data_dir.parent / f"{name or self.data_dir.name}.log"

    # --- what a test needs to talk to it --------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_text(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # --- life ------------------------------------------------------------------------------------

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LYNKFLOW_") or k in _INHERITABLE}
        env.update(self.env)
        env["LYNKFLOW_DATA_DIR"] = str(self.data_dir)
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def start(self, timeout: float = 60.0) -> LynkflowServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A port picked now can be taken by someone else before the child binds it; try a few.
        attempts = 1 if self.port else 3
        last = ""
        for _ in range(attempts):
            if not self.port or attempts > 1:
                self.port = free_port(self.host)
            try:
                self._spawn_and_wait(timeout)
                return self
            except ServerError as exc:
                last = str(exc)
                self.stop()
        raise ServerError(last)

    def _spawn_and_wait(self, timeout: float) -> None:
        log = self._log_path.open("wb")
        cmd = [self.python, "-m", "lynkflow.cli", "serve", "--host", self.host, "--port", str(self.port)]
        self._proc = subprocess.Popen(cmd, env=self.child_env(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise ServerError(f"lynkflow exited with code {self._proc.returncode}:\n{self.log_text[-3000:]}")
                try:
                    if http.get(f"{self.base_url}/_lynkflow/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise ServerError(f"lynkflow not ready within {timeout} s:\n{self.log_text[-3000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for tests that watch its memory or signal it)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> LynkflowServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
