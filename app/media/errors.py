"""Exceptions raised by the media engine.

The API faces translate these into each API's own error shape, so every message here is written
for a person: it says what was wrong with the input or which ffmpeg step failed and why.
"""

from __future__ import annotations


class MediaError(Exception):
    """A media operation failed; the message says why in words a user can act on."""


class MediaCancelled(MediaError):
    """The operation was cancelled through its cancel event; nothing was left behind."""


class BadMedia(MediaError):
    """The input is not usable media (empty, not media, no video, truncated, too large)."""


class FrameOutOfRange(MediaError):
    """A frame was requested at a time outside the media's frames; the message gives the valid range."""
