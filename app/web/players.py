"""`/player5/{id}.html`: the test player and embed player pages that api2 answers link to.

The id may be a test-player id (`uplynk_test_players.id`), an embed-player id
(`uplynk_assets.embed_player_id`) or — a lynkflow convenience — an asset id. The page plays the
asset with the browser's own `<video>`: the Uplynk-style playback URL `/{asset_id}.m3u8` where the
browser says it plays HLS natively (`canPlayType('application/vnd.apple.mpegurl')`), the progressive
MP4 otherwise (`?source=mp4` / `?source=hls` force one). No
player library is involved, so nothing is copied into the repository or fetched from a CDN.
An embed id gets the bare player (no asset details), as an embed player is meant for an iframe.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.web import queries
from app.web.dashboard import not_found
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/player5/{player_id}.html", response_class=HTMLResponse)
def player(request: Request, player_id: str) -> HTMLResponse:
    ctx = request.app.state.ctx
    with ctx.read_session() as db:
        target = queries.resolve_player(db, player_id.strip()[:64])
    if target is None:
        return not_found(request, f"There is no test player, embed player or asset with id {player_id}.")
    asset = target.view.asset
    if asset.deleted is not None:
        return not_found(request, f"Asset {asset.id} was deleted; its players no longer play.")
    return render(request, "player.html", {
        "section": "player", "view": target.view, "asset": asset, "kind": target.kind,
        "embed": target.kind == "embed", "base": ctx.public_base(str(request.base_url)),
    })
