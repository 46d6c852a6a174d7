"""Fixtures of the VIS tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SYNTH_CACHE


@pytest.fixture(scope="session")
def short_clip() -> Path:
    """A 2 s, 320x240, 25 fps clip with audio and the frame number in each picture (cached)."""
    from lynkflow.fixtures.synth import make_clip

    SYNTH_CACHE.mkdir(parents=True, exist_ok=True)
    return make_clip(SYNTH_CACHE / "vis_320x240_25_2s.mp4", width=320, height=240, fps=25, seconds=2.0)
