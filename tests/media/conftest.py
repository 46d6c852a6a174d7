"""Shared fixtures for the media tests: small synthetic clips made once per test session."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from lynkflow.fixtures.synth import make_clip
from lynkflow.media import frames
from lynkflow.media.ffmpeg import run_ffmpeg


@dataclass(frozen=True)
class Clip:
    path: Path
    fps: float
    frames: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip25(media_dir: Path) -> Clip:
    """640x360, 25 fps, 4 s (100 frames), keyframe every 2 s, with audio."""
    path = make_clip(media_dir / "c25.mp4", width=640, height=360, fps=25, seconds=4.0)
    return Clip(path, 25.0, 100, 640, 360)


@pytest.fixture(scope="session")
def clip30(media_dir: Path) -> Clip:
    """480x270, 30 fps, 3 s (90 frames), keyframe every 2 s, with audio."""
    path = make_clip(media_dir / "c30.mp4", width=480, height=270, fps=30, seconds=3.0)
    return Clip(path, 30.0, 90, 480, 270)


@pytest.fixture(scope="session")
def clip_noaudio(media_dir: Path) -> Clip:
    """320x240, 24 fps, 2 s, no audio track."""
    path = make_clip(media_dir / "c24_noaudio.mp4", width=320, height=240, fps=24, seconds=2.0, audio=False)
    return Clip(path, 24.0, 48, 320, 240)


@pytest.fixture(scope="session", params=["clip25", "clip30"])
def any_clip(request: pytest.FixtureRequest) -> Clip:
    """Each frame-rate clip in turn (25 and 30 fps)."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def audio_only(media_dir: Path) -> Path:
    out = media_dir / "tone.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(out)])
    return out


@pytest.fixture(scope="session")
def huge_dims(media_dir: Path) -> Path:
    """A real, tiny H.264 file whose picture is wider than the 8192 px limit."""
    out = media_dir / "huge.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=black:size=8448x16:duration=0.2:rate=5",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)])
    return out


@pytest.fixture(scope="session")
def multitrack(media_dir: Path, clip25: Clip) -> Path:
    """Two video tracks (640x360 and 320x180) and two audio tracks (stereo and mono)."""
    out = media_dir / "multi.mp4"
    run_ffmpeg([
        "-i", str(clip25.path),
        "-filter_complex", "[0:v]scale=320:180[small];[0:a]pan=stereo|c0=c0|c1=c0[st]",
        "-map", "0:v", "-map", "[small]", "-map", "0:a", "-map", "[st]",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(out),
    ])
    return out


@pytest.fixture(scope="session")
def bad_files(media_dir: Path, clip25: Clip) -> dict[str, Path]:
    """Inputs that are not usable media, by kind."""
    d = media_dir / "bad"
    d.mkdir(exist_ok=True)
    empty = d / "empty.mp4"
    empty.write_bytes(b"")
    rnd = d / "random.mp4"
    rnd.write_bytes(random.Random(7).randbytes(64 * 1024))
    text = d / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 50)
    data = clip25.path.read_bytes()
    half = d / "truncated_half.mp4"
    half.write_bytes(data[: len(data) // 2])
    head = d / "truncated_head.mp4"
    head.write_bytes(data[:2000])
    return {"empty": empty, "random": rnd, "text": text, "truncated_half": half, "truncated_head": head}


@pytest.fixture(autouse=True)
def _fresh_frame_cache() -> None:
    # Tests that time the cache or count decodes must not see another test's entries.
    frames.clear_caches()
