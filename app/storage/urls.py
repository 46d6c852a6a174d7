"""The one builder of `/storage/...` URLs, used by both API faces, playback and the dashboard."""

from __future__ import annotations

from urllib.parse import quote


def storage_url(base: str, relative: str) -> str:
    """The URL of a stored file: `base` (a public base URL, or "" for a host-relative path) +
    `/storage/` + the percent-encoded relative path. A trailing "/" is kept (thumb prefixes)."""
    return f"{base.rstrip('/')}/storage/{quote(relative.lstrip('/'))}"
