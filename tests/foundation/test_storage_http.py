"""/storage/... serves stored files with HTTP Range and the right content types."""

from __future__ import annotations

import pytest

PAYLOAD = bytes(range(256)) * 40  # 10 240 bytes


@pytest.fixture
def stored(client):
    root = client.app.state.ctx.storage.root
    (root / "media" / "m1").mkdir(parents=True)
    (root / "media" / "m1" / "clip.mp4").write_bytes(PAYLOAD)
    (root / "media" / "m1" / "index.m3u8").write_text("#EXTM3U\n")
    return client


def test_whole_file_and_content_types(stored) -> None:
    r = stored.get("/storage/media/m1/clip.mp4")
    assert r.status_code == 200
    assert r.content == PAYLOAD
    assert r.headers["content-type"] == "video/mp4"
    assert r.headers["accept-ranges"] == "bytes"
    assert stored.get("/storage/media/m1/index.m3u8").headers["content-type"] == "application/vnd.apple.mpegurl"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),  # first bytes
        ("bytes=-100", len(PAYLOAD) - 100, len(PAYLOAD) - 1),  # suffix
        ("bytes=10000-", 10000, len(PAYLOAD) - 1),  # open-ended
        ("bytes=5000-5000", 5000, 5000),  # a single byte
        ("bytes=10000-999999", 10000, len(PAYLOAD) - 1),  # end clamped to the file
    ],
)
def test_single_ranges(stored, header: str, start: int, end: int) -> None:
    r = stored.get("/storage/media/m1/clip.mp4", headers={"Range": header})
    assert r.status_code == 206
    assert r.content == PAYLOAD[start : end + 1]
    assert r.headers["content-range"] == f"bytes {start}-{end}/{len(PAYLOAD)}"


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=20000-20100"])
def test_unsatisfiable_range_is_416(stored, header: str) -> None:
    r = stored.get("/storage/media/m1/clip.mp4", headers={"Range": header})
    assert r.status_code == 416


def test_head_has_length_and_no_body(stored) -> None:
    r = stored.head("/storage/media/m1/clip.mp4")
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(PAYLOAD)
    assert r.content == b""


@pytest.mark.parametrize(
    "path",
    ["/storage/lynkflow.db", "/storage/..%2f..%2fetc%2fpasswd", "/storage/%2e%2e/%2e%2e/etc/passwd",
     "/storage/media/m1/missing.mp4", "/storage/media/m1", "/storage/tmp/x"],
)
def test_private_or_missing_paths_are_404(stored, path: str) -> None:
    assert stored.get(path).status_code == 404
