"""Single-frame JPEG images from a video (VIS ``POST /asset/image/``).

The frame is the one covering ``t`` (see :mod:`lynkflow.media.frames`); the JPEG is written to a temp
file next to ``out_path`` and renamed into place.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from PIL import Image

from lynkflow.media.frames import frame_at
from lynkflow.storage.workfiles import tmp_beside


def make_image(
    source: str | os.PathLike[str], out_path: str | os.PathLike[str], *, t: float, width: int | None = None
) -> dict[str, Any]:
    """Write the JPEG of the frame at ``t`` seconds (optionally ``width`` px wide); returns its size."""
    data = frame_at(source, t, fmt="jpeg", width=width)
    with Image.open(io.BytesIO(data)) as img:
        size = img.size
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_beside(out_path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"width": size[0], "height": size[1]}
