"""ingest: one ffmpeg run → rays, HLS slices, thumbs, poster and a download MP4."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import pytest
from PIL import Image

from lynkflow.fixtures.framecode import read_frame_number, read_frame_number_bytes
from lynkflow.media import frames
from lynkflow.media.errors import BadMedia, MediaCancelled
from lynkflow.media.ingest import IngestResult, ingest, ladder, playlist_segments
from lynkflow.media.probe import probe

SEGMENT = 1.5  # short slices so a 4 s clip has several (1.5 + 1.5 + 1.0)


def test_ladder() -> None:
    assert ladder(1080) == [1080, 720, 540, 360, 234]
    assert ladder(2160) == [1080, 720, 540, 360, 234]
    assert ladder(720) == [720, 540, 360, 234]
    assert ladder(360) == [360, 234]
    assert ladder(240) == [234]
    assert ladder(200) == [200]
    assert ladder(181) == [180]


@pytest.fixture(scope="module")
def ingested(clip25, tmp_path_factory) -> tuple[IngestResult, Path]:
    out = tmp_path_factory.mktemp("ingest") / "asset"
    return ingest(clip25.path, out, segment_seconds=SEGMENT), out


@pytest.mark.slow
def test_rays_match_the_ladder(ingested) -> None:
    result, out = ingested
    assert [r["height"] for r in result.rays] == [360, 234]
    assert [r["width"] for r in result.rays] == [640, 416]
    for ray in result.rays:
        with av.open(str(out / ray["playlist"])) as c:
            frame = next(c.decode(video=0))
            assert (frame.width, frame.height) == (ray["width"], ray["height"])
        info = probe(out / ray["mp4"])
        assert (info.width, info.height) == (ray["width"], ray["height"])
        assert info.frame_count == 100


@pytest.mark.slow
def test_hls_slices_and_durations(ingested) -> None:
    result, out = ingested
    assert result.duration == pytest.approx(4.0, abs=0.04)
    for ray in result.rays:
        segments = playlist_segments(out / ray["playlist"])
        assert len(segments) == result.slices == 3
        assert sum(d for _, d in segments) == pytest.approx(4.0, abs=1 / 25)
        text = (out / ray["playlist"]).read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and "#EXT-X-ENDLIST" in text
        # Each slice starts on the frame at its nominal start time.
        for i, (uri, _) in enumerate(segments):
            with av.open(str(out / Path(ray["playlist"]).parent / uri)) as c:
                first = next(c.decode(video=0))
                assert first.key_frame
                assert read_frame_number(first.to_image()) == round(i * SEGMENT * 25)
    master = (out / result.master_playlist).read_text()
    assert master.count("#EXT-X-STREAM-INF:") == 2
    assert "RESOLUTION=640x360" in master and "RESOLUTION=416x234" in master
    assert "BANDWIDTH=" in master and 'CODECS="avc1.' in master
    with av.open(str(out / result.master_playlist)) as c:
        assert c.streams.video


@pytest.mark.slow
def test_thumbs_poster_and_download(ingested) -> None:
    result, out = ingested
    assert len(result.thumbs) == result.slices
    assert result.thumbs[0] == "thumbs/00000000.jpg"
    for i, rel in enumerate(result.thumbs):
        with Image.open(out / rel) as img:
            assert img.format == "JPEG"
            assert img.width == 320
            assert read_frame_number(img) == round(i * SEGMENT * 25)
    with Image.open(out / result.poster) as img:
        assert img.size == (640, 360)
        assert read_frame_number(img) == 10  # 10 % of 4 s = 0.4 s = frame 10
    dl = probe(out / result.mp4)
    assert (dl.width, dl.height) == (640, 360) and dl.has_audio
    assert dl.duration == pytest.approx(4.0, abs=0.04)
    with open(out / result.mp4, "rb") as fh:
        head = fh.read(64)
    assert head.find(b"moov") != -1 or head.find(b"ftyp") != -1
    assert (out / result.mp4).read_bytes().find(b"moov") < (out / result.mp4).read_bytes().find(b"mdat")


@pytest.mark.slow
def test_frame_sources_are_frame_accurate(ingested) -> None:
    result, out = ingested
    assert result.frame_source(highest=True) == "ray0/video.mp4"
    assert result.frame_source(highest=False) == "ray1/video.mp4"
    for t in (0.0, 1.23, 2.5, 3.99):
        png = frames.frame_at(out / result.frame_source(highest=True), t)
        assert read_frame_number_bytes(png) == int(t * 25 + 1e-6)
    thumbs = frames.frames_between(out / result.frame_source(highest=False), 2.0, 2.2)
    assert [read_frame_number_bytes(b) for b in thumbs] == [50, 51, 52, 53, 54]


@pytest.mark.slow
def test_result_round_trips(ingested) -> None:
    result, _ = ingested
    assert IngestResult.from_dict(result.to_dict()) == result


@pytest.mark.slow
def test_no_audio_source_and_max_rays(clip_noaudio, tmp_path: Path) -> None:
    result = ingest(clip_noaudio.path, tmp_path / "a", segment_seconds=1.0, max_rays=1)
    assert [r["height"] for r in result.rays] == [234]
    assert result.slices == 2 and len(result.thumbs) == 2
    assert not probe(tmp_path / "a" / result.mp4).has_audio
    assert "mp4a" not in (tmp_path / "a" / result.master_playlist).read_text()


@pytest.mark.slow
def test_cancel_leaves_nothing_behind(clip25, tmp_path: Path) -> None:
    cancel = threading.Event()
    timer = threading.Timer(0.1, cancel.set)  # while ffmpeg is mid-run
    timer.start()
    with pytest.raises(MediaCancelled):
        ingest(clip25.path, tmp_path / "asset", cancel=cancel)
    timer.cancel()
    assert list(tmp_path.iterdir()) == []


def test_bad_source_leaves_nothing_behind(bad_files, tmp_path: Path) -> None:
    with pytest.raises(BadMedia, match="truncated"):
        ingest(bad_files["truncated_half"], tmp_path / "asset")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_reingest_replaces_the_directory(clip_noaudio, tmp_path: Path) -> None:
    out = tmp_path / "asset"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    ingest(clip_noaudio.path, out, max_rays=1)
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["asset"]
