"""The data-dir layout and the one function that turns user-supplied paths into safe ones.

Layout under LYNKFLOW_DATA_DIR:

    lynkflow.db            the SQLite database (embedded default)
    inbox/                 default allowed media folder for ingest-by-path and cloud-slicer sources
    media/<id>/source.*    stored source files
    media/<id>/out/...     ingest outputs: rays, HLS, thumbs, poster, download MP4
    uplynk/<owner>/...     uploaded posters, exports
    vis/<contentId>/...    VIS event folders (vod/ recording files, assets/ GIF, MP4, JPG)
    tmp/                   scratch space for atomic writes (same filesystem, so rename is atomic)

Everything the service writes or serves goes through `safe_join`, which refuses any path that
would leave its base directory: `..` segments, absolute paths, backslashes, NUL and control
characters, percent-encoded variants of those, and symlinks that resolve outside the base.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from urllib.parse import unquote

# Linux limits (NAME_MAX, PATH_MAX) in bytes. A longer name makes every file-system call fail with
# ENAMETOOLONG, so it is refused here, as a bad path, before anything touches the disk.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096


class UnsafePath(ValueError):
    """A path that would escape its base directory or is not a plain relative file path."""


def _decode_fully(raw: str) -> str:
    # Decode repeatedly so double-encoded %252e%252e cannot sneak past a single decode.
    for _ in range(4):
        decoded = unquote(raw)
        if decoded == raw:
            break
        raw = decoded
    return raw


def safe_join(base: Path, *parts: str) -> Path:
    """Join user-supplied relative parts under base, or raise UnsafePath saying why."""
    base_resolved = base.resolve()
    rel_parts: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise UnsafePath("path must be text")
        text = unicodedata.normalize("NFKC", _decode_fully(part))
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise UnsafePath("path contains a control character or NUL")
        if "\ufffd" in text or any("\ud800" <= c <= "\udfff" for c in text):
            raise UnsafePath("path contains bytes that are not valid UTF-8")
        if "\\" in text:
            raise UnsafePath("path contains a backslash; use '/' between folders")
        if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
            raise UnsafePath("path must be relative, not absolute")
        for seg in text.split("/"):
            if seg in ("", "."):
                continue
            if seg == ".." or seg.strip(" .") == "":
                raise UnsafePath("path must not contain '..' or dot-only segments")
            if len(os.fsencode(seg)) > MAX_NAME_BYTES:
                raise UnsafePath(f"path has a name longer than {MAX_NAME_BYTES} bytes")
            rel_parts.append(seg)
    if not rel_parts:
        raise UnsafePath("path is empty")
    candidate = base_resolved.joinpath(*rel_parts)
    if len(os.fsencode(str(candidate))) > MAX_PATH_BYTES:
        raise UnsafePath(f"path is longer than {MAX_PATH_BYTES} bytes")
    # Resolve symlinks of whatever exists so a link inside the data dir cannot point out of it.
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, or a link to an over-long target
        raise UnsafePath(f"path cannot be resolved ({exc.__class__.__name__})") from None
    if resolved != base_resolved and base_resolved not in resolved.parents:
        raise UnsafePath("path resolves outside its folder")
    return candidate


class Storage:
    """The data dir and its well-known sub-folders."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def ensure(self) -> None:
        for sub in ("inbox", "media", "uplynk", "vis", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def path(self, relative: str) -> Path:
        return safe_join(self.root, relative)

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def vis_root(self) -> Path:
        return self.root / "vis"

    def media_dir(self, media_id: str) -> Path:
        return safe_join(self.root, "media", media_id)

    def url_path(self, relative: str) -> str:
        """The /storage/... URL path of a stored file (no host)."""
        from urllib.parse import quote

        return "/storage/" + quote(relative.lstrip("/"))

    def remove_tree(self, relative: str) -> None:
        import shutil

        target = self.path(relative)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists() or target.is_symlink():
            os.unlink(target)
