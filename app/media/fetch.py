"""Downloading a source file from a URL (the cloud-slicer `source.url` on the loopback interface).

Outbound HTTP lives here, not in the domain: the domain decides *whether* a URL may be fetched
(app/domain/uplynk_jobs.py `classify_source`) and where the file goes; this streams it to disk with
a size cap, progress and cancel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from lynkflow.media.errors import MediaCancelled


def download(url: str, target: Path, *, max_bytes: int, on_progress: Callable[[float], None] | None = None,
             cancel: threading.Event | None = None) -> int:
    """Stream `url` into `target` (redirects are not followed); returns the byte count.

    Raises ValueError with a message for the job's `last_error` when the server refuses, the file is
    larger than `max_bytes` or the connection fails; MediaCancelled on cancel. A failed or cancelled
    download leaves no `target` behind.
    """
    import httpx  # loaded on first use: most processes never fetch

    total = 0
    try:
        with httpx.stream("GET", url, follow_redirects=False, timeout=30.0) as resp:
            if resp.status_code >= 300:
                raise ValueError(f"fetching {url} answered HTTP {resp.status_code}"
                                 + (" (redirects are not followed)" if 300 <= resp.status_code < 400 else ""))
            expected = int(resp.headers.get("content-length") or 0)
            if expected > max_bytes:
                raise ValueError(f"source is {expected} bytes; lynkflow downloads at most {max_bytes}")
            with open(target, "wb") as fh:
                for chunk in resp.iter_bytes(1024 * 1024):
                    if cancel is not None and cancel.is_set():
                        raise MediaCancelled("cancelled")
                    total += len(chunk)
                    if total > max_bytes:
                        raise ValueError(f"source is larger than {max_bytes} bytes")
                    fh.write(chunk)
                    if expected and on_progress is not None:
                        on_progress(100.0 * total / expected)
    except httpx.HTTPError as exc:
        target.unlink(missing_ok=True)
        raise ValueError(f"could not fetch {url}: {exc}") from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return total
