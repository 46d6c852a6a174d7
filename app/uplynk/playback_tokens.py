"""Signed playback tokens (reference §6.2) for assets with `require_drm=1`.

A token is a query string on the playback URL: `tc=1&exp=…&rn=…&ct=a&cid=<asset id>[&extra…]&sig=<hex>`
(or `eid=<external id>&oid=<owner>` in place of `cid`). `sig` is the HMAC-SHA256 hex digest, keyed with
one of the owner's enabled API keys, of the query string exactly as received, without the leading `?`
and without the final `&sig=…`; it must be the last parameter. Extra parameters before it are signed too.

`sign_playback_query` makes such a query string (the test players use it, and so can tests);
`check_playback_token` verifies one and returns a short refusal reason, or None when playback may go on.
Only the master-playlist URLs are guarded: the ray playlists and segments they point at are plain
/storage files (documented in parity).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode

from lynkflow.uplynk.signing_keys import lookup

TOKEN_VERSION = "1"
# How long the URL a test/embed player page is given stays valid. The browser fetches the master
# playlist once, right after the page loads; the reference asks for no less than 10 seconds.
PLAYER_TOKEN_SECONDS = 600

_CORE = ("tc", "exp", "rn", "ct", "cid", "eid", "oid")


def _digest(data: str, api_key: str) -> str:
    return hmac.new(api_key.encode(), data.encode(), hashlib.sha256).hexdigest()


def sign_playback_query(params: Sequence[tuple[str, str]], api_key: str) -> str:
    """`params` URL-encoded in the given order, then `&sig=<lowercase hex HMAC-SHA256>` appended."""
    data = urlencode(list(params))
    return f"{data}&sig={_digest(data, api_key)}"


def player_token_query(ctx: Any, asset: Any) -> str | None:
    """A short-lived signed query for an asset's master playlist, made with the owner's first enabled
    key (what "auto-signed" test and embed players need); None when the owner has no enabled key."""
    keys = lookup(ctx, asset.owner_id)[1]
    if not keys:
        return None
    params = [("tc", TOKEN_VERSION), ("exp", str(int(ctx.clock.now()) + PLAYER_TOKEN_SECONDS)),
              ("rn", str(secrets.randbelow(10**10))), ("ct", "a"), ("cid", asset.id)]
    return sign_playback_query(params, keys[0][1])


def check_playback_token(ctx: Any, asset: Any, raw_query: str) -> str | None:
    """None when the asset plays without a token or `raw_query` carries a valid one; else the reason."""
    if not asset.require_drm:
        return None  # a token sent anyway is ignored
    return check_token_for(ctx, owner_id=asset.owner_id, asset_ids=[asset.id],
                           external_ids=[asset.external_id or ""], raw_query=raw_query)


def check_token_for(ctx: Any, *, owner_id: str, asset_ids: list[str], external_ids: list[str],
                    raw_query: str) -> str | None:
    """Verify a token naming these assets (in order, comma-joined: the multiple.m3u8 form) of one owner."""
    raw = raw_query[1:] if raw_query.startswith("?") else raw_query
    parts = raw.split("&") if raw else []
    if not any(p.startswith("sig=") for p in parts):
        return "missing token: this asset requires a signed playback URL (tc, exp, rn, ct, cid, sig)"
    if not parts[-1].startswith("sig="):
        return "bad token: sig must be the last parameter"
    data = "&".join(parts[:-1])
    sig = parts[-1][len("sig="):].lower()
    values = parse_qs(data, keep_blank_values=True)
    for name in _CORE:
        if len(values.get(name, [])) > 1:
            return f"bad token: {name} is given more than once"
    got = {k: v[0] for k, v in values.items()}
    missing = [n for n in ("tc", "exp", "rn", "ct") if not got.get(n)]
    if not got.get("cid") and not (got.get("eid") and got.get("oid")):
        missing.append("cid (or eid and oid)")
    if missing:
        return "missing token: the token lacks " + ", ".join(missing)
    if got["tc"] != TOKEN_VERSION:
        return f"bad token: tc must be {TOKEN_VERSION}"
    if not got["exp"].isdigit():
        return "bad token: exp must be Unix seconds"

    # Any enabled key of the owner verifies; re-read the keys once so a key added a moment ago works.
    if not _signed_by(ctx, owner_id, data, sig, fresh=False) and not _signed_by(ctx, owner_id, data, sig, fresh=True):
        return "bad signature: sig is not the HMAC-SHA256 of the query string with an enabled API key"
    if int(got["exp"]) < ctx.clock.now():
        return "expired: the token's exp has passed"
    if got["ct"] != "a":
        return f"wrong ct: {got['ct']!r} does not name an asset (ct=a)"
    if got.get("cid"):
        if got["cid"].lower() != ",".join(asset_ids):
            return "wrong cid: the token is for other content"
    else:
        # oid is the signer's own user ID; lynkflow keys verify only their owner's content.
        if got["oid"].lower() != owner_id.lower() or got["eid"] != ",".join(external_ids):
            return "wrong cid: the token's eid/oid is for other content"
    return None


def _signed_by(ctx: Any, owner_id: str, data: str, sig: str, *, fresh: bool) -> bool:
    wanted = sig.encode()
    ok = False
    for _, secret in lookup(ctx, owner_id, fresh=fresh)[1]:
        ok |= hmac.compare_digest(_digest(data, secret).encode(), wanted)
    return ok
