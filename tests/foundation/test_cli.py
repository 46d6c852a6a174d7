"""The `lynkflow` commands a person runs: ingest (with its progress bar), seed and reset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lynkflow.context import build_context
from lynkflow.db.models import Media, UplynkAsset, VisEvent, VisVuflow

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], settings, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "LYNKFLOW_DATA_DIR": str(settings.resolved_data_dir),
           "LYNKFLOW_DATABASE_URL": settings.resolved_database_url}
    return subprocess.run([sys.executable, "-m", "lynkflow.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


@pytest.mark.slow
def test_ingest_makes_an_asset_and_an_event(settings, synth_clips) -> None:
    clip = synth_clips["bars_320x240_24_noaudio.mp4"]
    proc = _run(["ingest", str(clip), "--event", "--external-id", "cli-clip", "--desc", "From the CLI"], settings)
    assert proc.returncode == 0, proc.stderr
    assert "done" in proc.stdout and "asset" in proc.stdout and "event" in proc.stdout
    assert "%" in proc.stderr  # the progress bar
    ctx = build_context(settings)
    try:
        with ctx.session() as db:
            asset = db.scalars(select(UplynkAsset).where(UplynkAsset.external_id == "cli-clip")).one()
            assert (asset.state, asset.desc, asset.rays) == ("ready", "From the CLI", 1)  # 240p: the 234 rung only
            event = db.scalars(select(VisEvent)).one()
            assert event.title == "From the CLI" and event.state == 10  # VOD_PRIVATE
    finally:
        ctx.engine.dispose()


@pytest.mark.slow
def test_ingest_of_a_bad_file_exits_non_zero_with_the_reason(settings, tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    proc = _run(["ingest", str(bad)], settings)
    assert proc.returncode == 1
    assert "failed" in proc.stdout and "notes.mp4" in proc.stdout


def test_ingest_refuses_missing_files(settings, tmp_path: Path) -> None:
    proc = _run(["ingest", str(tmp_path / "nope.mp4")], settings, timeout=60)
    assert proc.returncode == 2 and "not a file" in proc.stderr


def test_seed_and_reset(settings, tmp_path: Path) -> None:
    doc = json.loads((REPO / "fixtures/demo/seed.json").read_text())
    doc["media"] = []
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(doc))
    proc = _run(["seed", str(seed)], settings, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "vuflows=1" in proc.stdout
    bad = _run(["seed", str(tmp_path / "missing.json")], settings, timeout=60)
    assert bad.returncode == 2 and "not found" in bad.stderr
    proc = _run(["reset"], settings, timeout=60)
    assert proc.returncode == 0, proc.stderr
    ctx = build_context(settings)
    try:
        with ctx.session() as db:
            assert db.scalar(select(func.count()).select_from(VisVuflow)) == 0
            assert db.scalar(select(func.count()).select_from(Media)) == 0
    finally:
        ctx.engine.dispose()
