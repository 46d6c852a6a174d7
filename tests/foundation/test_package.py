"""lynkflow as its users adopt it: a wheel installed into their own project, beside their own `app`.

The wheel is built from this checkout and installed into a fresh virtual environment outside the
repository; a small user project (with an `app` package of its own, as most FastAPI projects have)
then runs a pytest file that uses the plugin's fixtures against a live server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_pyproject_lists_every_subpackage() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"lynkflow": REPO / "app", "lynkflow.migrations": REPO / "migrations",
               "lynkflow.fixtures": REPO / "fixtures"}
    found = set()
    for name, root in folders.items():
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            found.add(name + ("" if rel == Path(".") else "." + ".".join(rel.parts)))
    assert found == listed


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a stranger's shell: no LYNKFLOW_* and no path into this checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LYNKFLOW_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment, outside the repository, with the wheel and pytest installed."""
    work = tmp_path_factory.mktemp("adopter")
    dist = work / "dist"
    # A copy of the checkout without its build leftovers, so the wheel is built from sources only.
    src = work / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", "var", "build", "dist", "*.egg-info",
                                                             "__pycache__", ".pytest_cache", ".ruff_cache", ".cache"))
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)], env=_clean_env())
    wheel = next(dist.glob("lynkflow-*.whl"))
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], env=_clean_env())
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), "pytest", "pytest-xdist"],
         env=_clean_env())
    return venv


@pytest.mark.slow
def test_wheel_exposes_one_top_level_package(installed: Path) -> None:
    code = ("import importlib.metadata as m, json; "
            "print(json.dumps(sorted(k for k, v in m.packages_distributions().items() if 'lynkflow' in v)))")
    out = _run([str(installed / "bin" / "python"), "-c", code], env=_clean_env(), cwd=installed).stdout
    assert out.strip() == '["lynkflow"]'


@pytest.mark.slow
def test_installed_cli_migrates_and_serves_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    env = _clean_env(LYNKFLOW_DATA_DIR=str(tmp_path / "data"))
    out = _run([str(installed / "bin" / "lynkflow"), "migrate"], env=env, cwd=tmp_path).stdout
    from lynkflow.db.migrate import SCHEMA_HEAD

    assert f"database at revision {SCHEMA_HEAD}" in out


@pytest.mark.slow
def test_migrate_without_migration_files_refuses_in_one_line(installed: Path, tmp_path: Path) -> None:
    # The installed package, copied without its version files, shadows the installed one.
    site = next((installed / "lib").glob("python3*/site-packages"))
    broken = tmp_path / "broken"
    shutil.copytree(site / "lynkflow", broken / "lynkflow", ignore=shutil.ignore_patterns("__pycache__"))
    for version in (broken / "lynkflow" / "migrations" / "versions").glob("0*.py"):
        version.unlink()
    env = _clean_env(LYNKFLOW_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(broken))
    for command in ("migrate", "serve"):
        proc = subprocess.run([str(installed / "bin" / "python"), "-m", "lynkflow.cli", command, "--port", "9"]
                              if command == "serve" else
                              [str(installed / "bin" / "python"), "-m", "lynkflow.cli", command],
                              capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
        assert proc.returncode != 0, proc.stdout
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "no migration files" in lines[0], proc.stderr


USER_APP = '''
"""The user's own application package, named `app` like most FastAPI projects'."""
from fastapi import FastAPI


def create_app() -> FastAPI:
    return FastAPI(title="the user's app")
'''

USER_TEST = '''
from app.main import create_app


def test_the_users_own_app_still_imports():
    assert create_app().title == "the user's app"


def test_a_fault_then_a_signed_call(lynkflow_control, lynkflow_uplynk):
    lynkflow_control.add_fault(api="uplynk", route="/api2/asset/list", action="error", count=1)
    first = lynkflow_uplynk.call("/api2/asset/list")
    second = lynkflow_uplynk.call("/api2/asset/list")
    assert first["error"] == 1 and second["error"] == 0 and second["assets"] == []
    assert lynkflow_control.journal_count(route="/api2/asset/list") == 2


def test_a_vis_call(lynkflow_server, lynkflow_vis):
    created = lynkflow_vis.post("/api/event/", json={"title": "from the user project"})
    assert created.status_code == 200, created.text
    listed = lynkflow_vis.get("/api/event/").json()
    assert [e["title"] for e in listed["results"]] == ["from the user project"]
    assert lynkflow_server.base_url.startswith("http://127.0.0.1:")
'''


@pytest.mark.slow
def test_user_project_with_its_own_app_package_uses_the_plugin(installed: Path, tmp_path: Path) -> None:
    project = tmp_path / "userproject"
    (project / "app").mkdir(parents=True)
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "main.py").write_text(textwrap.dedent(USER_APP))
    (project / "tests").mkdir()
    (project / "tests" / "test_with_lynkflow.py").write_text(textwrap.dedent(USER_TEST))
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    proc = subprocess.run([str(installed / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, timeout=600, env=_clean_env(), cwd=project)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout


USER_PARALLEL_TEST = '''
import pytest


@pytest.mark.parametrize("n", range(6))
def test_each_test_has_its_own_data(lynkflow_control, lynkflow_uplynk, lynkflow_vis, n):
    assert lynkflow_uplynk.call("/api2/asset/list")["assets"] == []
    created = lynkflow_vis.post("/api/event/", json={"title": f"event {n}"})
    assert created.status_code == 200, created.text
    assert [e["title"] for e in lynkflow_vis.get("/api/event/").json()["results"]] == [f"event {n}"]
    lynkflow_control.assert_called("/api/event/", method="POST", params={"title": f"event {n}"}, times=1)


@pytest.mark.parametrize("n", range(4))
def test_a_fault_in_one_test_only(lynkflow_control, lynkflow_uplynk, n):
    lynkflow_control.add_fault(route="/api2/asset/list", action="error", count=1, message=f"down {n}")
    assert lynkflow_uplynk.call("/api2/asset/list") == {"error": 1, "msg": f"down {n}"}
    assert lynkflow_uplynk.call("/api2/asset/list")["error"] == 0


@pytest.mark.parametrize("year", [2001, 2010, 2020, 2030])
def test_a_frozen_clock_in_one_test_only(lynkflow_control, lynkflow_uplynk, lynkflow_vis, year):
    state = lynkflow_control.freeze(at=f"{year}-01-01T00:00:00Z")
    flow = lynkflow_vis.post("/api/vuflow/", json={"name": "f", "configurationJson": "{}"}).json()
    assert flow["dateCreated"] == f"{year}-01-01T00:00:00Z"
    assert lynkflow_uplynk.call("/api2/asset/list", _timestamp=state["nowMs"] // 1000)["error"] == 0


@pytest.mark.parametrize("n", range(4))
def test_the_clock_runs_here(lynkflow_control, lynkflow_uplynk, n):
    assert lynkflow_control.clock()["frozen"] is False
    assert lynkflow_uplynk.call("/api2/asset/list")["error"] == 0


def test_one_server_for_every_worker(lynkflow_server):
    import os

    # Under xdist every worker talks to the server the controller started; in-process has none.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        assert lynkflow_server.base_url.startswith("http://127.0.0.1:")
'''


@pytest.mark.slow
@pytest.mark.parametrize("mode", [["-n", "4"], ["--lynkflow-inprocess"]], ids=["xdist-4", "inprocess"])
def test_a_user_suite_runs_in_parallel_each_test_in_its_own_tenant(installed: Path, tmp_path: Path,
                                                                    mode: list[str]) -> None:
    project = tmp_path / "parallel"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_parallel.py").write_text(textwrap.dedent(USER_PARALLEL_TEST))
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    proc = subprocess.run([str(installed / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *mode],
                          capture_output=True, text=True, timeout=600, env=_clean_env(), cwd=project)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "19 passed" in proc.stdout
