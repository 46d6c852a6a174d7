"""The one safe-join function refuses every way out of its base directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lynkflow.storage.paths import UnsafePath, safe_join

TRAVERSALS = [
    "..",
    "../",
    "../etc/passwd",
    "a/../../etc/passwd",
    "a/b/../../../x",
    "/etc/passwd",
    "//etc/passwd",
    "\\etc\\passwd",
    "..\\..\\windows",
    "a\\..\\..\\b",
    "C:\\Windows",
    "C:/Windows",
    "%2e%2e/etc/passwd",
    "%2E%2E%2Fetc%2Fpasswd",
    "..%2fetc%2fpasswd",
    "%252e%252e%252fetc",
    "%2e%2e%5cwindows",
    "a/%2e%2e/%2e%2e/b",
    "file\x00.txt",
    "ok%00.txt",
    "line\nbreak",
    "tab\there",
    "\x7fdel",
    "",
    ".",
    "./",
    "...",
    "a/.../b",
    " ../x",
    "..%c0%af..%c0%afetc",
    "\uff0e\uff0e/etc/passwd",  # full-width dots normalise to '..'
    "%EF%BC%8E%EF%BC%8E/etc",  # the same, percent-encoded UTF-8
    "/",
    "~/../../root",
    "link_out/secret",
]


@pytest.mark.parametrize("attempt", TRAVERSALS)
def test_traversal_attempts_are_refused(tmp_path: Path, attempt: str) -> None:
    base = tmp_path / "data"
    base.mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", base / "link_out")
    with pytest.raises(UnsafePath):
        safe_join(base, attempt)


def test_at_least_thirty_attempts() -> None:
    assert len(TRAVERSALS) >= 30


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("a.txt",), "a.txt"),
        (("media", "abc", "out/ray0/x.ts"), "media/abc/out/ray0/x.ts"),
        (("vis", "my event/assets/goal 1.gif"), "vis/my event/assets/goal 1.gif"),
        (("./a/./b",), "a/b"),
        (("name%20with%20spaces.mp4",), "name with spaces.mp4"),
        (("..name",), "..name"),
    ],
)
def test_plain_relative_paths_are_joined(tmp_path: Path, parts: tuple[str, ...], expected: str) -> None:
    assert safe_join(tmp_path, *parts) == tmp_path.resolve() / expected


def test_symlink_inside_the_base_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert safe_join(tmp_path, "alias/f").read_text() == "x"
