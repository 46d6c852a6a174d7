"""make_image: a JPEG of exactly the frame at t."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from lynkflow.fixtures.framecode import read_frame_number
from lynkflow.media.errors import FrameOutOfRange
from lynkflow.media.image import make_image


@pytest.mark.parametrize(("t", "frame"), [(0.0, 0), (1.0, 30), (1.51, 45), (2.99, 89)])
def test_image_is_the_frame_at_t(clip30, tmp_path: Path, t: float, frame: int) -> None:
    out = tmp_path / "f.jpg"
    info = make_image(clip30.path, out, t=t)
    assert info == {"width": 480, "height": 270}
    with Image.open(out) as img:
        assert img.format == "JPEG"
        assert read_frame_number(img) == frame


def test_width_and_errors(clip25, tmp_path: Path) -> None:
    out = tmp_path / "w.jpg"
    assert make_image(clip25.path, out, t=2.0, width=320) == {"width": 320, "height": 180}
    with pytest.raises(FrameOutOfRange):
        make_image(clip25.path, tmp_path / "late.jpg", t=9.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.jpg"]
