"""The media engine: probing, frame extraction, renditions/HLS, GIFs, clips and images.

Pure functions over file paths (no HTTP, no database). ffmpeg (from imageio-ffmpeg unless
``LYNKFLOW_FFMPEG`` is set) runs the long jobs; PyAV does the latency-sensitive work in-process.
"""

from lynkflow.media.errors import BadMedia, FrameOutOfRange, MediaCancelled, MediaError

__all__ = ["BadMedia", "FrameOutOfRange", "MediaCancelled", "MediaError"]
