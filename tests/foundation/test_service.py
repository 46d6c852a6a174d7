"""The service shell: health, readiness, default accounts, the demo seed, the CLI and a real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from lynkflow.db.models import KeyValue, UplynkApiKey, UplynkLibraryShare, UplynkOwner, VisApiKey, VisVuflow
from lynkflow.seeding import SeedError, apply_seed, load_seed_file

REPO = Path(__file__).resolve().parents[2]


def test_health_and_ready(client) -> None:
    assert client.get("/_lynkflow/health").json()["status"] == "ok"
    r = client.get("/_lynkflow/ready")
    assert r.status_code == 200
    assert r.json() == {"ready": True, "checks": {"database_migrated": True, "seed_applied": True,
                                                  "workers_running": True},
                        "seed": {"applied": False, "mediaJobs": 0, "pending": 0, "failed": []}}


def test_ready_reports_workers(make_client) -> None:
    c = make_client(inproc_workers=2)
    assert c.get("/_lynkflow/ready").json()["checks"]["workers_running"] is True
    assert c.app.state.ctx.workers.alive() == 2


def test_default_accounts_exist(ctx) -> None:
    with ctx.session() as db:
        owner = db.get(UplynkOwner, ctx.settings.uplynk_owner)
        assert owner is not None
        keys = db.scalars(select(UplynkApiKey.secret).where(UplynkApiKey.owner_id == owner.id)).all()
        assert ctx.settings.uplynk_api_key in keys
        assert db.get(VisApiKey, ctx.settings.vuflow_api_key) is not None


def _seed_without_media(tmp_path: Path) -> Path:
    doc = json.loads((REPO / "fixtures/demo/seed.json").read_text())
    doc["media"] = []
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(doc))
    return path


def test_demo_seed_accounts_and_vuflow(ctx, tmp_path: Path) -> None:
    counts = apply_seed(ctx, load_seed_file(_seed_without_media(tmp_path)))
    assert counts["owners"] == 1 and counts["vuflows"] == 1 and counts["libraries"] == 1
    with ctx.session() as db:
        assert db.scalar(select(func.count()).select_from(UplynkOwner)) == 2
        assert db.scalar(select(func.count()).select_from(UplynkLibraryShare)) == 1
        vuflow = db.scalars(select(VisVuflow).where(VisVuflow.name != "lynkflow storage")).one()  # not a default
        assert json.loads(vuflow.configuration_json)["storageUrlPublic"] == "{lynkflow}/storage/vis"
        assert db.get(KeyValue, "seed_applied") is not None
    again = apply_seed(ctx, load_seed_file(_seed_without_media(tmp_path)))
    assert again["owners"] == 0 and again["vuflows"] == 0  # idempotent


def test_seed_applied_on_start_only_when_empty(make_client, tmp_path: Path) -> None:
    seed = _seed_without_media(tmp_path)
    c = make_client(seed_file=seed)
    with c.app.state.ctx.session() as db:
        assert db.get(VisVuflow, "5eed0000-0000-4000-8000-00000000f10a") is not None


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("not json", "not valid JSON"), ("[]", "format"), ('{"format": 2}', "format")],
)
def test_bad_seed_files_are_refused(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "seed.json"
    path.write_text(content)
    with pytest.raises(SeedError, match=fragment):
        load_seed_file(path)
    with pytest.raises(SeedError, match="not found"):
        load_seed_file(tmp_path / "missing.json")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serve_answers_ready(tmp_path: Path, db_url: str) -> None:
    """`lynkflow serve` as a real process: migrates, prints credentials, answers /_lynkflow/ready."""
    port = _free_port()
    env = {**os.environ, "LYNKFLOW_DATA_DIR": str(tmp_path / "data"), "LYNKFLOW_DATABASE_URL": db_url}
    proc = subprocess.Popen([sys.executable, "-m", "lynkflow.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/_lynkflow/ready", timeout=1)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        assert r.json()["ready"] is True
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert "Uplynk owner id" in out and "VIS API key" in out


def test_cli_migrate(tmp_path: Path) -> None:
    env = {**os.environ, "LYNKFLOW_DATA_DIR": str(tmp_path / "d")}
    env.pop("LYNKFLOW_DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-m", "lynkflow.cli", "migrate"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "database at revision" in proc.stdout
    assert (tmp_path / "d" / "lynkflow.db").is_file()
