"""Locating and running the ffmpeg binary.

Every ffmpeg invocation in lynkflow goes through :func:`run_ffmpeg`, which adds the flags we always
want, reports progress as a percentage, honours a cancel event promptly, and turns a failure into a
:class:`MediaError` whose message carries ffmpeg's own last error lines.
"""

from __future__ import annotations

import collections
import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from lynkflow.media.errors import MediaCancelled, MediaError

# How often the supervising loop wakes up to look at the cancel event and the deadline; this bounds
# how long a cancel takes to kill ffmpeg.
_POLL_SECONDS = 0.05

# ffmpeg's closing lines that restate failure without saying why; they are skipped when building the
# error message so the user sees the cause instead.
_NOISE_PREFIXES = (
    "Conversion failed",
    "Error while filtering",
    "Error closing file",
    "Exiting normally",
    "[out#",
    "Nothing was written",
)


# The binary Settings.ffmpeg (LYNKFLOW_FFMPEG) names; set by `use_binary` when a context is built.
_chosen: str | None = None


def use_binary(path: str | None) -> None:
    """Run this ffmpeg from now on (None: the one imageio-ffmpeg ships). Called with Settings.ffmpeg."""
    global _chosen
    _chosen = path or None


def ffmpeg_binary() -> str:
    """Path of the ffmpeg executable: the configured one, else the imageio-ffmpeg one."""
    return _chosen or _bundled_binary()


@functools.lru_cache(maxsize=1)
def _bundled_binary() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@functools.lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up once in the parent (the child after fork must not load anything)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec hook: the kernel kills ffmpeg when the thread that started it is gone.

    A worker killed with SIGKILL cannot stop its ffmpeg; without this, ffmpeg would go on writing
    beside the retry for as long as the encode takes. The thread that starts ffmpeg waits for it,
    so the signal only comes when the whole process dies.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died between fork and prctl
            os._exit(1)

    return hook


def _kill(proc: subprocess.Popen[str]) -> None:
    """Kill ffmpeg and anything it started (it runs in its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


def _tail_message(lines: collections.deque[str]) -> str:
    """The last meaningful stderr lines, joined, for an error message."""
    useful = [ln for ln in lines if ln.strip() and not ln.strip().startswith(_NOISE_PREFIXES)]
    if not useful:
        useful = [ln for ln in lines if ln.strip()]
    picked = useful[-3:]
    return "; ".join(ln.strip() for ln in picked) or "no error output"


def run_ffmpeg(
    args: list[str],
    *,
    duration: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> None:
    """Run ffmpeg with ``args`` (everything after the binary), supervising it.

    ``duration`` is the expected output duration in seconds; with it, ``out_time_us`` progress lines
    become a 0–100 percentage passed to ``on_progress`` (called from this thread, never concurrently).
    Setting ``cancel`` kills ffmpeg within ~0.1 s and raises :class:`MediaCancelled`. A non-zero exit
    raises :class:`MediaError` with ffmpeg's last error lines; ``timeout`` seconds raises it too.
    """
    cmd = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-y", "-progress", "pipe:1", "-nostats", *args]
    if not any(a == "-loglevel" or a == "-v" for a in args):
        # Only errors on stderr, so its tail is the cause of a failure rather than stream listings.
        cmd[1:1] = ["-loglevel", "error"]
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            text=True,
            errors="replace",
            # Its own process group: a terminal's Ctrl-C goes to lynkflow, which stops ffmpeg
            # itself, and a kill reaches the whole group.
            process_group=0,
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 - only prctl and getppid run in the child
        )
    except OSError as exc:
        raise MediaError(f"cannot start ffmpeg ({cmd[0]}): {exc}") from exc

    stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
    latest: list[float] = [-1.0]  # written by the stdout reader, read by the supervising loop

    def read_progress() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("out_time_us=") and duration and duration > 0:
                try:
                    us = int(line.split("=", 1)[1])
                except ValueError:
                    continue  # ffmpeg prints N/A before the first frame
                latest[0] = max(0.0, min(100.0, us / (duration * 1e6) * 100.0))

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            stderr_tail.append(line.rstrip("\n"))

    readers = [
        threading.Thread(target=read_progress, daemon=True, name="ffmpeg-progress"),
        threading.Thread(target=read_stderr, daemon=True, name="ffmpeg-stderr"),
    ]
    for t in readers:
        t.start()

    deadline = time.monotonic() + timeout if timeout else None
    reported = -1.0
    outcome: str | None = None
    try:
        while True:
            try:
                proc.wait(timeout=_POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                pass
            if cancel is not None and cancel.is_set():
                outcome = "cancelled"
                break
            if deadline is not None and time.monotonic() > deadline:
                outcome = "timeout"
                break
            if on_progress is not None and latest[0] > reported:
                reported = latest[0]
                on_progress(reported)
    finally:
        if proc.poll() is None:
            _kill(proc)
            proc.wait()
        for t in readers:
            t.join(timeout=2)

    if outcome == "cancelled":
        raise MediaCancelled("cancelled")
    if outcome == "timeout":
        raise MediaError(f"ffmpeg took longer than {timeout:g} s and was stopped")
    if proc.returncode != 0:
        raise MediaError(f"ffmpeg failed (exit {proc.returncode}): {_tail_message(stderr_tail)}")
    if on_progress is not None and reported < 100.0:
        on_progress(100.0)
