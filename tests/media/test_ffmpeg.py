"""run_ffmpeg: progress, readable failures, prompt cancel that leaves no process behind."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lynkflow.config import load_settings
from lynkflow.context import build_context
from lynkflow.media import ffmpeg as ff
from lynkflow.media.errors import MediaCancelled, MediaError


@pytest.fixture
def chosen_ffmpeg() -> Iterator[None]:
    yield
    ff.use_binary(None)  # back to the bundled binary for the tests that follow


def test_binary_is_found_and_the_setting_overrides(monkeypatch, tmp_path: Path, chosen_ffmpeg) -> None:
    assert Path(ff.ffmpeg_binary()).exists()
    monkeypatch.setenv("LYNKFLOW_FFMPEG", "/opt/custom/ffmpeg")
    ctx = build_context(load_settings(data_dir=tmp_path))  # every process builds one before any media work
    ctx.engine.dispose()
    assert ff.ffmpeg_binary() == "/opt/custom/ffmpeg"


def test_missing_binary_is_a_media_error(chosen_ffmpeg) -> None:
    ff.use_binary("/nonexistent/ffmpeg")
    with pytest.raises(MediaError, match="cannot start ffmpeg"):
        ff.run_ffmpeg(["-version"])


@pytest.mark.slow
def test_progress_is_reported_as_percent(tmp_path: Path) -> None:
    seen: list[float] = []
    ff.run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3", "-c:v", "libx264",
         "-preset", "ultrafast", str(tmp_path / "out.mp4")],
        duration=3.0,
        on_progress=seen.append,
    )
    assert seen and seen[-1] == 100.0
    assert all(0.0 <= p <= 100.0 for p in seen)
    assert seen == sorted(seen)


def test_failure_message_names_the_cause(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as exc:
        ff.run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])
    message = str(exc.value)
    assert "ffmpeg failed" in message
    assert "No such file or directory" in message


def test_bad_filter_message(clip25) -> None:
    with pytest.raises(MediaError, match="No such filter: 'nosuchfilter'"):
        ff.run_ffmpeg(["-i", str(clip25.path), "-vf", "nosuchfilter", "-f", "null", "-"])


@pytest.mark.slow
def test_cancel_kills_ffmpeg_promptly(monkeypatch) -> None:
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(ff.subprocess, "Popen", recording_popen)
    cancel = threading.Event()
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(MediaCancelled):
        ff.run_ffmpeg(
            ["-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:duration=60", "-f", "null", "-"],
            duration=60,
            cancel=cancel,
        )
    elapsed = time.monotonic() - t0
    assert elapsed < 0.5 + 0.5
    assert len(started) == 1 and started[0].poll() is not None  # the process is gone


def test_timeout(monkeypatch) -> None:
    with pytest.raises(MediaError, match="longer than 0.3 s"):
        ff.run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc2=duration=30", "-f", "null", "-"], timeout=0.3)
