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
    """Stored files: the data dir and its well-known sub-folders (the local backend).

    The storage interface every writer and reader uses, whatever the backend:

    - a writer produces its output under the data dir (atomically, by renaming a finished work file
      or folder into place) and then calls `publish(relative)`; here that is all, on S3
      (`lynkflow.storage.s3`) `publish` uploads it, so a failed job never reaches the store;
    - a reader that needs a file on disk (an ffmpeg input, a getframe source, a playlist) calls
      `local_file(relative)`, which on S3 fetches it into the data dir, used there as a bounded cache;
    - `exists`, `list_files` and `remove_tree` answer from, and change, the store itself.
    """

    #: True when the files live elsewhere and the data dir is only a cache of them.
    remote = False

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

    def publish(self, relative: str) -> None:
        """Make the finished file or folder at `relative` durable; the rename into place already did."""

    def local_file(self, relative: str) -> Path:
        """The stored file on local disk; FileNotFoundError when it is not stored."""
        target = self.path(relative)
        if not target.is_file():
            raise FileNotFoundError(f"{relative} is not in storage")
        return target

    def exists(self, relative: str) -> bool:
        try:
            return self.path(relative).is_file()
        except UnsafePath:
            return False

    def list_files(self, folder: str) -> list[str]:
        """Relative paths of the stored files below `folder` (work files, named with a dot, left out)."""
        base = self.path(folder)
        if not base.is_dir():
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                p = Path(dirpath) / name
                if not name.startswith(".") and not p.is_symlink():
                    found.append(p.relative_to(self.root).as_posix())
        return sorted(found)

    def remove_tree(self, relative: str) -> None:
        """Remove a stored file or folder (a missing one is not an error)."""
        import shutil

        target = self.path(relative)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists() or target.is_symlink():
            os.unlink(target)
