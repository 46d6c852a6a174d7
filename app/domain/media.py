"""Media items: a source file copied into the data dir, its probe data and its ingest outputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import Media
from lynkflow.storage.paths import UnsafePath, safe_join

MAX_SOURCE_BYTES = 20 * 1024**3


class MediaSourceError(ValueError):
    """A source that cannot be taken in (outside the allowed folder, missing, too big)."""


def resolve_allowed_source(ctx: AppContext, path: str | Path) -> Path:
    """A path the caller names must lie inside the allowed media folder (LYNKFLOW_MEDIA_DIR)."""
    base = ctx.settings.resolved_media_dir
    raw = str(path)
    if len(raw) > 4096:
        raise MediaSourceError(f"source path is {len(raw)} characters long; the limit is 4096")
    try:
        # An absolute path is taken as the same path relative to the media folder, so it gets the
        # same checks (NUL, length, symlinks leaving the folder) as a relative one.
        target = safe_join(base, _relative_to_base(raw, base) if os.path.isabs(raw) else raw)
    except UnsafePath as exc:
        raise MediaSourceError(
            f"source {raw[:200]!r} is outside the allowed media folder {base} ({exc}); copy the file "
            "there or upload it instead"
        ) from None
    try:
        found = target.is_file()
    except OSError as exc:  # e.g. a folder on the way that we may not enter
        raise MediaSourceError(f"source {raw[:80]!r} cannot be used: {exc.strerror}") from None
    if not found:
        raise MediaSourceError(f"source {raw[:200]!r} not found in the media folder {base}")
    return target


def _relative_to_base(raw: str, base: Path) -> str:
    rel = os.path.relpath(raw, base)
    if rel.split(os.sep, 1)[0] == "..":
        # Maybe the base spelled through a symlinked folder (e.g. /tmp and /private/tmp).
        try:
            rel = os.path.relpath(os.path.realpath(raw), base)
        except (OSError, ValueError):
            raise UnsafePath("outside") from None
        if rel.split(os.sep, 1)[0] == "..":
            raise UnsafePath("outside")
    return rel


def create_media_from_file(db: Session, ctx: AppContext, path: Path, original_filename: str | None = None,
                           *, move: bool = False) -> Media:
    """Store a copy of a local file as a new media item (state pending) and return it.

    The copy goes to a temp name first and is renamed into place, so a failed copy leaves nothing.
    """
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise MediaSourceError(f"source is {size} bytes; the limit is {MAX_SOURCE_BYTES}")
    media_id = ids.hex32()
    name = original_filename or path.name
    suffix = "".join(c for c in Path(name).suffix.lower() if c.isalnum() or c == ".")[:10] or ".bin"
    folder = ctx.storage.media_dir(media_id)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"source{suffix}"
    tmp = ctx.storage.tmp / f"{media_id}{suffix}.part"
    try:
        if move:
            shutil.move(str(path), tmp)
        else:
            shutil.copyfile(path, tmp)
        os.replace(tmp, final)
        ctx.storage.publish(ctx.storage.relative(final))
    except BaseException:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    now = ctx.clock.now_ms()
    media = Media(id=media_id, original_filename=name, source_path=ctx.storage.relative(final),
                  size_bytes=size, state="pending", created=now, updated=now)
    db.add(media)
    db.flush()
    return media


def media_source(ctx: AppContext, media: Media) -> Path:
    return ctx.storage.local_file(media.source_path)


def remove_media_files(ctx: AppContext, media: Media) -> None:
    ctx.storage.remove_tree(f"media/{media.id}")
