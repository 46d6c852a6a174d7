"""The complete pytest example in docs/control-plane.md runs and passes in a fresh project,
with the plugin found through its entry point (as a user's project would find it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "control-plane.md"


def example_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/control-plane.md has no python example"
    return blocks[-1]


@pytest.mark.slow
@pytest.mark.parametrize("server", ["own", "external"])
def test_documented_example_passes(tmp_path: Path, request: pytest.FixtureRequest, server: str):
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_video_service.py").write_text(example_code())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LYNKFLOW_", "PYTEST_"))}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    if server == "external":
        # --lynkflow-url: the example runs against this session's live server instead of its own.
        args.append(f"--lynkflow-url={request.getfixturevalue('lynkflow_server').base_url}")
    result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "5 passed" in result.stdout
    if server == "external":
        from lynkflow.testing.clients import ControlClient

        # Each of the example's tests ran in a tenant of its own, removed afterwards: its manual GIF
        # lifecycle never reached this server's own state, and no tenant is left behind.
        control = ControlClient(request.getfixturevalue("lynkflow_server").base_url)
        assert control.lifecycles()["lifecycles"]["gif"]["mode"] == "real"
        assert control.tenants() == []
        control.close()


def test_plugin_costs_nothing_when_unused(tmp_path: Path):
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LYNKFLOW_", "PYTEST_"))}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--fixtures"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "lynkflow_server" in result.stdout  # registered by entry point
    basetemp = tmp_path / "basetemp"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             f"--basetemp={basetemp}", "test_plain.py"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "1 passed" in result.stdout
    assert not list(basetemp.glob("lynkflow*"))  # no server data dir: nothing was started
