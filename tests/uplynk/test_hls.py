"""The pure HLS text builders of Uplynk-style playback (app/uplynk/hls.py), table-driven."""

from __future__ import annotations

import pytest

from lynkflow.uplynk import hls

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"
ray0/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=350000,RESOLUTION=416x234,CODECS="avc1.640015,mp4a.40.2"
ray1/index.m3u8
"""


def test_variants_and_attributes() -> None:
    variants = hls.variants(MASTER)
    assert [uri for _, uri in variants] == ["ray0/index.m3u8", "ray1/index.m3u8"]
    assert hls.attrs(variants[0][0]) == {"BANDWIDTH": "900000", "AVERAGE-BANDWIDTH": "800000",
                                         "RESOLUTION": "640x360", "CODECS": '"avc1.64001e,mp4a.40.2"'}


def test_rewrite_uris_keeps_tags() -> None:
    out = hls.rewrite_uris(MASTER, lambda uri: "http://h/x/" + uri)
    assert out.splitlines()[:3] == MASTER.splitlines()[:3]
    assert [x for x in out.splitlines() if not x.startswith("#")] == ["http://h/x/ray0/index.m3u8",
                                                                      "http://h/x/ray1/index.m3u8"]
    assert out.endswith("\n")


@pytest.mark.parametrize(("parts", "target", "discontinuities"), [
    ([[("a.ts", 4.0), ("b.ts", 2.5)]], 4, 0),
    ([[("a.ts", 4.0)], [("c.ts", 4.2)]], 5, 1),
    ([[("a.ts", 0.4)], [("c.ts", 0.2)], [("d.ts", 0.1)]], 1, 2),
])
def test_media_playlist(parts, target, discontinuities) -> None:  # noqa: ANN001
    text = hls.media_playlist(parts)
    assert f"#EXT-X-TARGETDURATION:{target}\n" in text
    assert text.count("#EXT-X-DISCONTINUITY") == discontinuities
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    assert [x for x in text.splitlines() if not x.startswith("#")] == [u for run in parts for u, _ in run]


@pytest.mark.parametrize(("heights", "wanted", "chosen"), [
    ([720, 360], 360, 1),
    ([720, 360], 1080, 0),
    ([720, 360], 540, 0),  # a tie goes to the higher ray
    ([], 360, 0),
])
def test_closest_ray(heights, wanted, chosen) -> None:  # noqa: ANN001
    r = hls.Rendition([("", f"ray{i}.m3u8") for i in range(max(1, len(heights)))],
                      [{"height": h} for h in heights], 10.0)
    assert hls.closest_ray(r, wanted) == chosen


def test_multiple_master_combines_attributes() -> None:
    a = hls.Rendition(hls.variants(MASTER), [{"height": 360}, {"height": 234}], 10.0)
    b = hls.Rendition([('BANDWIDTH=500000,AVERAGE-BANDWIDTH=200000,RESOLUTION=416x234,CODECS="avc1.640015"',
                        "ray0/index.m3u8")], [{"height": 234}], 30.0)
    text = hls.multiple_master([a, b], lambda n: f"/multiple/ray{n}.m3u8")
    first = hls.attrs(hls.variants(text)[0][0])
    assert first["BANDWIDTH"] == "900000"  # the peak of the pieces
    assert first["AVERAGE-BANDWIDTH"] == str(int((800000 * 10 + 200000 * 30) / 40))  # weighted by duration
    assert first["CODECS"] == '"avc1.64001e,mp4a.40.2,avc1.640015"'  # the union
    assert [uri for _, uri in hls.variants(text)] == ["/multiple/ray0.m3u8", "/multiple/ray1.m3u8"]
