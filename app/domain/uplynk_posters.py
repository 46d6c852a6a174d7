"""Uplynk asset posters (`poster_img` of asset/update, a quickclip's `poster_ts`): validated before
any write, stored as a file beside the asset's outputs, the old one removed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import re

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import UplynkAsset
from lynkflow.domain.uplynk_errors import AssetError
from lynkflow.storage.paths import safe_join

MAX_POSTER_BYTES = 3 * 1024 * 1024


def _poster_bytes(value: str) -> tuple[bytes, str]:
    text = re.sub(r"\s+", "", value)
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]  # a data: URL prefix is harmless; drop it
    if len(text) > (MAX_POSTER_BYTES * 4) // 3 + 8:
        raise AssetError("poster_img must be smaller than 3 MB before base64 encoding")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise AssetError("poster_img is not valid base64") from None
    if len(data) >= MAX_POSTER_BYTES:
        raise AssetError("poster_img must be smaller than 3 MB before base64 encoding")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = (img.format or "").lower()
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise AssetError("poster_img is not an image (send a base64-encoded PNG, JPEG, GIF or WebP)") from None
    ext = {"png": "png", "jpeg": "jpg", "gif": "gif", "webp": "webp"}.get(fmt)
    if ext is None:
        raise AssetError(f"poster_img format {fmt or 'unknown'} is not supported; use PNG, JPEG, GIF or WebP")
    return data, ext


def prepare_poster(value: str) -> tuple[bytes, str] | None:
    """Validate a poster_img value before any write; None means "reset the poster"."""
    if value == "" or value is None:
        return None
    if not isinstance(value, str):
        raise AssetError("poster_img must be a base64 string")
    return _poster_bytes(value)


def store_poster(ctx: AppContext, asset: UplynkAsset, poster: tuple[bytes, str] | None) -> None:
    """Write (or remove) the poster file; the asset row is updated by the caller's transaction."""
    old = asset.poster_path
    if poster is None:
        asset.poster_path = None
    else:
        data, ext = poster
        folder = safe_join(ctx.storage.root, "uplynk", asset.owner_id, asset.id)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"poster-{ids.hex32()[:12]}.{ext}"
        target = safe_join(folder, name)
        tmp = safe_join(ctx.storage.tmp, f"{asset.id}-{name}")
        tmp.write_bytes(data)
        tmp.replace(target)
        asset.poster_path = ctx.storage.relative(target)
        ctx.storage.publish(asset.poster_path)
    if old and old != asset.poster_path:
        with contextlib.suppress(OSError, ValueError):
            ctx.storage.remove_tree(old)
