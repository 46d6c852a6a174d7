"""Stored files in an S3-compatible object store (`LYNKFLOW_STORAGE_URL=s3://bucket/prefix`).

The object store is the truth; the data dir is the work area and a bounded cache. Writers still
produce outputs locally with ffmpeg and rename them into place; `publish` then uploads them (a
folder replaces every object under its prefix), so a job that fails before publishing leaves no
object, and a failed upload removes what it had put. Readers that need a file on disk get it through
`local_file`, which downloads a missing one. The cache (everything published or fetched under
media/, uplynk/ and vis/) is trimmed to `LYNKFLOW_STORAGE_CACHE_MB`, least recently used first.
Objects are written once under a name (outputs go to new ids), so a cached copy is not revalidated.

boto3 is imported on first use: a lynkflow on local storage never pays for it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from lynkflow.logging import get_logger
from lynkflow.storage.paths import Storage, UnsafePath
from lynkflow.storage.workfiles import tmp_beside

log = get_logger("storage.s3")

_CACHED = ("media", "uplynk", "vis")
# A file used this recently is never evicted: it may be an ffmpeg input about to be opened, or an
# output renamed into place and not yet uploaded.
_KEEP_SECONDS = 60.0
_TRIM_EVERY = 2.0


class StoreUnavailable(OSError):
    """The object store refused or could not be reached; said with its endpoint and bucket."""


class S3Storage(Storage):
    remote = True

    def __init__(self, root: Path, *, bucket: str, prefix: str, endpoint_url: str | None, cache_bytes: int) -> None:
        super().__init__(root)
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.cache_bytes = cache_bytes
        self._trim_lock = threading.Lock()
        self._last_trim = 0.0

    @cached_property
    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        # Credentials and region come from the standard AWS_* variables (boto3 reads them itself).
        return boto3.client("s3", endpoint_url=self.endpoint_url,
                            config=Config(max_pool_connections=32, retries={"max_attempts": 3, "mode": "standard"},
                                          s3={"addressing_style": "path"}))

    def key(self, relative: str) -> str:
        self.path(relative)  # the same safety rules as local paths
        rel = relative.strip("/")
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _relative_of(self, key: str) -> str:
        return key[len(self.prefix) + 1:] if self.prefix else key

    # --- the interface --------------------------------------------------------------------------

    def publish(self, relative: str) -> None:
        from lynkflow.storage.serve import content_type_for

        target = self.path(relative)
        if target.is_dir():
            files = [(self.relative(p), p) for p in _walk(target)]
            old = set(self._keys_under(relative))
        else:
            files = [(relative.strip("/"), target)]
            old = set()
        for _, path in files:
            _touch(path)  # just used: the trim must not evict what is about to be uploaded
        put: list[str] = []
        try:
            for rel, path in files:
                key = self.key(rel)
                self._call(self.client.upload_file, str(path), self.bucket, key,
                           ExtraArgs={"ContentType": content_type_for(path.name)})
                put.append(key)
        except BaseException:
            self._delete_keys([k for k in put if k not in old])
            raise
        # A folder replaces its previous contents (a re-ingest): drop objects it no longer has.
        self._delete_keys(sorted(old - set(put)))
        self._trim()

    def local_file(self, relative: str) -> Path:
        target = self.path(relative)
        if target.is_file():
            _touch(target)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_beside(target)
        try:
            self._call(self.client.download_file, self.bucket, self.key(relative), str(tmp))
            os.replace(tmp, target)
        except FileNotFoundError:
            raise FileNotFoundError(f"{relative} is not in storage") from None
        finally:
            tmp.unlink(missing_ok=True)
        self._trim()
        return target

    def exists(self, relative: str) -> bool:
        try:
            self.head(relative)
        except (FileNotFoundError, UnsafePath):
            return False
        return True

    def list_files(self, folder: str) -> list[str]:
        return sorted(rel for rel in (self._relative_of(k) for k in self._keys_under(folder))
                      if not any(part.startswith(".") for part in rel.split("/")))

    def remove_tree(self, relative: str) -> None:
        super().remove_tree(relative)
        key = self.key(relative)
        self._delete_keys([key, *self._keys_under(relative)])

    # --- reading objects for /storage -----------------------------------------------------------

    def head(self, relative: str) -> dict[str, Any]:
        return self._call(self.client.head_object, Bucket=self.bucket, Key=self.key(relative))

    def get(self, relative: str, byte_range: str | None) -> dict[str, Any]:
        """GetObject, passing an HTTP Range header through; FileNotFoundError, or RangeNotSatisfiable."""
        kwargs = {"Bucket": self.bucket, "Key": self.key(relative)}
        if byte_range:
            kwargs["Range"] = byte_range
        return self._call(self.client.get_object, **kwargs)

    # --- helpers --------------------------------------------------------------------------------

    def _keys_under(self, folder: str) -> Iterator[str]:
        prefix = self.key(folder).rstrip("/") + "/"
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    yield obj["Key"]
        except Exception as exc:  # noqa: BLE001 - turned into one readable error
            raise self._unavailable(exc) from exc

    def _delete_keys(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            batch = [{"Key": k} for k in keys[i:i + 1000]]
            if batch:
                self._call(self.client.delete_objects, Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError("not in storage") from None
            if code in ("416", "InvalidRange"):
                raise RangeNotSatisfiable() from None
            raise self._unavailable(exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        return StoreUnavailable(f"the object store (bucket {self.bucket!r}"
                                f"{', endpoint ' + self.endpoint_url if self.endpoint_url else ''}) failed: {exc}")

    def _trim(self) -> None:
        """Evict least recently used cached files until the cache fits its size."""
        now = time.monotonic()
        if now - self._last_trim < _TRIM_EVERY or not self._trim_lock.acquire(blocking=False):
            return
        try:
            self._last_trim = now
            entries = []
            for sub in _CACHED:
                for p in _walk(self.root / sub):
                    try:
                        st = p.stat()
                    except OSError:
                        continue
                    entries.append((max(st.st_atime, st.st_mtime), st.st_size, p))
            total = sum(size for _, size, _ in entries)
            if total <= self.cache_bytes:
                return
            keep_after = time.time() - _KEEP_SECONDS
            goal = self.cache_bytes * 0.8  # some headroom, so the next file does not trim again
            for used, size, p in sorted(entries, key=lambda e: e[0]):
                if total <= goal or used > keep_after:
                    break
                p.unlink(missing_ok=True)
                total -= size
        finally:
            self._trim_lock.release()


class RangeNotSatisfiable(Exception):
    """The Range of a request does not overlap the object."""


def _walk(folder: Path) -> Iterator[Path]:
    """Files below `folder`, leaving out work files and folders (their names start with a dot)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            p = Path(dirpath) / name
            if not name.startswith(".") and not p.is_symlink():
                yield p


def _touch(path: Path) -> None:
    # Record the use for the LRU trim (atime alone is unreliable: relatime, noatime mounts).
    try:
        st = path.stat()
        os.utime(path, (time.time(), st.st_mtime))
    except OSError:
        pass
