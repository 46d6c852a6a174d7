"""Signed playback tokens (reference §6.2): assets with `require_drm=1` play only from a master-playlist
URL that carries a valid `tc/exp/rn/ct/cid|eid+oid/…/sig` query; the test player page is auto-signed."""

from __future__ import annotations

import html
import re

from lynkflow import ids
from lynkflow.db.models import Media, UplynkAsset
from lynkflow.uplynk.playback_tokens import sign_playback_query
from tests.uplynk.conftest import make_asset, other_owner

M3U8 = "application/vnd.apple.mpegurl"
MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nr0/index.m3u8\n"


def _playable(client, api, external_id: str, *, drm: bool) -> str:
    """A ready asset whose media item has a master playlist in storage (no ffmpeg needed)."""
    ctx = client.app.state.ctx
    aid = make_asset(ctx, external_id=external_id, duration=10.0)
    media_id = ids.hex32()
    out_rel = f"media/{media_id}/out"
    (ctx.storage.root / out_rel).mkdir(parents=True)
    (ctx.storage.root / out_rel / "master.m3u8").write_text(MASTER)
    now = ctx.clock.now_ms()
    with ctx.session() as db:
        db.add(Media(id=media_id, original_filename="clip.mp4", source_path=f"media/{media_id}/source.mp4",
                     size_bytes=1, state="ready", output_dir=out_rel, created=now, updated=now,
                     renditions={"rays": [{"name": "r0", "height": 360}], "master_playlist": "master.m3u8"}))
        db.flush()
        asset = db.get(UplynkAsset, aid)
        asset.media_id = media_id
        asset.slices = 3
    if drm:
        api.ok("asset/update", id=aid, require_drm=1)
    return aid


def _token(api, cid: str | None = None, *, exp_in: int = 60, key: str | None = None, ct: str = "a",
           extra: list[tuple[str, str]] | None = None, ident: list[tuple[str, str]] | None = None) -> str:
    exp = int(api.ctx.clock.now()) + exp_in
    params = [("tc", "1"), ("exp", str(exp)), ("rn", "12345"), ("ct", ct)]
    params += ident if ident is not None else [("cid", cid or "")]
    return sign_playback_query(params + (extra or []), key or api.api_key)


def _refused(client, url: str, fragment: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 403, (url, resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("text/plain") and fragment in resp.text, (url, resp.text)
    assert resp.text.startswith("forbidden: ")


def _plays(client, url: str, variant: str = "/r0/index.m3u8") -> str:
    """200 and a master playlist whose variant URI contains ``variant`` (the asset's own ray playlist
    in /storage, or the generated multiple/segment variants)."""
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.text)
    assert resp.headers["content-type"].startswith(M3U8)
    assert resp.text.startswith("#EXTM3U") and variant in resp.text, (url, resp.text)
    if variant == "/r0/index.m3u8":
        assert "/storage/" in resp.text
    return resp.text


def test_asset_without_drm_plays_with_or_without_token(client, api) -> None:
    aid = _playable(client, api, "open", drm=False)
    _plays(client, f"/{aid}.m3u8")
    _plays(client, f"/{aid}.m3u8?tc=1&sig=nonsense")  # a token on an open asset is ignored
    _plays(client, f"/ext/{api.owner}/open.m3u8")
    page = client.get(f"/player5/{aid}.html").text
    assert f'data-hls="/{aid}.m3u8"' in page  # unsigned: nothing to sign for


def test_drm_asset_needs_a_valid_token(client, api) -> None:
    aid = _playable(client, api, "locked", drm=True)
    other = _playable(client, api, "other", drm=True)
    url = f"/{aid}.m3u8"

    _refused(client, url, "missing token")
    _refused(client, f"{url}?tc=1&exp=9999999999&rn=1&ct=a&cid={aid}", "missing token")
    good = _token(api, aid)
    _plays(client, f"{url}?{good}")

    # Upper-case hex is the same signature.
    data, sig = good.rsplit("&sig=", 1)
    _plays(client, f"{url}?{data}&sig={sig.upper()}")

    _refused(client, f"{url}?{data}&sig={'0' * 64}", "bad signature")
    _refused(client, f"{url}?{data.replace('rn=12345', 'rn=12346')}&sig={sig}", "bad signature")
    _refused(client, f"{url}?{_token(api, aid, key='not-a-key')}", "bad signature")
    theirs = other_owner(client).owner
    assert theirs != api.owner
    _refused(client, f"{url}?{_token(api, aid, key='other-key')}", "bad signature")  # another owner's key

    # sig must be the last parameter; extra parameters before it are signed too.
    _refused(client, f"{url}?sig={sig}&{data}", "sig must be the last parameter")
    _refused(client, f"{url}?{good}&ray=abc", "sig must be the last parameter")
    with_ray = _token(api, aid, extra=[("ray", "abc"), ("test", "1")])
    _plays(client, f"{url}?{with_ray}")
    _refused(client, f"{url}?{with_ray.replace('ray=abc', 'ray=abd')}", "bad signature")

    _refused(client, f"{url}?{_token(api, other)}", "wrong cid")
    _refused(client, f"{url}?{_token(api, aid, ct='c')}", "wrong ct")
    _refused(client, f"{url}?{_token(api, aid, ident=[('eid', 'other'), ('oid', api.owner)])}", "wrong cid")
    tc2 = sign_playback_query([("tc", "2"), ("exp", "9999999999"), ("rn", "1"), ("ct", "a"), ("cid", aid)], api.api_key)
    _refused(client, f"{url}?{tc2}", "tc must be 1")

    # Expiry follows the lynkflow clock.
    short = _token(api, aid, exp_in=30)
    _plays(client, f"{url}?{short}")
    api.ctx.clock.advance(31_000)
    _refused(client, f"{url}?{short}", "expired")
    _plays(client, f"{url}?{_token(api, aid)}")  # a fresh one works again

    # Turning the setting off opens the asset again.
    api.ok("asset/update", id=aid, require_drm=0)
    _plays(client, url)


def test_ext_form_and_eid_oid_tokens(client, api) -> None:
    aid = _playable(client, api, "ext-locked", drm=True)
    url = f"/ext/{api.owner}/ext-locked.m3u8"
    _refused(client, url, "missing token")
    _plays(client, f"{url}?{_token(api, ident=[('eid', 'ext-locked'), ('oid', api.owner)])}")
    _plays(client, f"{url}?{_token(api, aid)}")  # cid names the same asset
    # eid+oid is accepted on the asset-ID URL as well.
    _plays(client, f"/{aid}.m3u8?{_token(api, ident=[('eid', 'ext-locked'), ('oid', api.owner)])}")
    _refused(client, f"{url}?{_token(api, ident=[('eid', 'ext-locked'), ('oid', 'ab' * 16)])}", "wrong cid")
    _refused(client, f"{url}?{_token(api, ident=[('eid', 'ext-locked')])}", "missing token")


def test_multiple_and_segment_urls(client, api) -> None:
    a = _playable(client, api, "m-open", drm=False)
    b = _playable(client, api, "m-locked", drm=True)

    _plays(client, f"/{a}/multiple.m3u8", "/multiple/")  # no DRM asset in the list: no token
    _refused(client, f"/{a},{b}/multiple.m3u8", "missing token")
    _refused(client, f"/{a},{b}/multiple.m3u8?{_token(api, b)}", "wrong cid")
    _plays(client, f"/{a},{b}/multiple.m3u8?{_token(api, f'{a},{b}')}", f"/multiple/{a},{b}/ray0.m3u8")
    ext = f"/ext/{api.owner}/m-open,m-locked/multiple.m3u8"
    _refused(client, ext, "missing token")
    _plays(client, f"{ext}?{_token(api, ident=[('eid', 'm-open,m-locked'), ('oid', api.owner)])}", "/multiple/")

    _refused(client, f"/segment/0/{b}.m3u8", "missing token")
    _plays(client, f"/segment/0/{b}.m3u8?{_token(api, b)}", "/segment/0/")
    _refused(client, f"/segment/0/ext/{api.owner}/m-locked.m3u8", "missing token")
    _plays(client, f"/segment/0/ext/{api.owner}/m-locked.m3u8?{_token(api, b)}", "/segment/0/")
    _plays(client, f"/segment/0/{a}.m3u8", "/segment/0/")
    # A missing asset is still 404 (the token check needs an asset to check against).
    assert client.get(f"/{'0' * 32}.m3u8").status_code == 404


def test_player_page_is_auto_signed(client, api) -> None:
    aid = _playable(client, api, "page", drm=True)
    for page_id in (aid, _embed_id(client, aid)):
        page = client.get(f"/player5/{page_id}.html")
        assert page.status_code == 200
        src = html.unescape(re.search(r'data-hls="([^"]*)"', page.text).group(1))
        assert src.startswith(f"/{aid}.m3u8?tc=1&exp=") and re.search(r"&sig=[0-9a-f]{64}$", src), src
        _plays(client, src)
    _refused(client, f"/{aid}.m3u8", "missing token")  # the page's token is the only way in


def _embed_id(client, aid: str) -> str:
    with client.app.state.ctx.session() as db:
        return db.get(UplynkAsset, aid).embed_player_id
