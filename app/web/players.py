"""`/player5/{id}.html`: the test player and embed player pages that api2 answers link to.

The id may be a test-player id (`uplynk_test_players.id`), an embed-player id
(`uplynk_assets.embed_player_id`) or — a lynkflow convenience — an asset id. The page plays the
asset with the browser's own `<video>`: the Uplynk-style playback URL `/{asset_id}.m3u8` where the
browser says it plays HLS natively (`canPlayType('application/vnd.apple.mpegurl')`), the progressive
MP4 otherwise (`?source=mp4` / `?source=hls` force one). No
player library is involved, so nothing is copied into the repository or fetched from a CDN.
An embed id gets the bare player (no asset details), as an embed player is meant for an iframe.

`/vis/player/{eventId}.html`: the page a VIS event's `video.playerUrl` names. It plays the event's
ingested recording the same way (its HLS master playlist, or the MP4); `?embed=true` is the bare
player that `video.embedCode` puts in an iframe. Like the /player5/ pages it needs no API key (an
iframe cannot send one); an unknown or soft-deleted event is 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lynkflow.db.deps import ReadDb
from lynkflow.db.models import Media, VisEvent
from lynkflow.domain.vis_events import EVENT_STATES
from lynkflow.routeclass import DeferredRoute
from lynkflow.uplynk.playback_tokens import player_token_query
from lynkflow.web import queries
from lynkflow.web.dashboard import not_found
from lynkflow.web.templating import render

router = APIRouter(route_class=DeferredRoute, include_in_schema=False)


@router.get("/player5/{player_id}.html", response_class=HTMLResponse)
def player(request: Request, db: ReadDb, player_id: str) -> HTMLResponse:
    ctx = request.app.state.ctx
    target = queries.resolve_player(db, player_id.strip()[:64])
    if target is None:
        return not_found(request, f"There is no test player, embed player or asset with id {player_id}.")
    asset = target.view.asset
    if asset.deleted is not None:
        return not_found(request, f"Asset {asset.id} was deleted; its players no longer play.")
    # Test and embed players are auto-signed (reference §6.1): for an asset that requires a token,
    # the HLS source the page plays carries a short-lived one, made with the owner's first enabled key.
    hls_src = ""
    if target.view.hls_url:
        query = player_token_query(ctx, asset) if asset.require_drm and target.view.playable else None
        hls_src = f"/{asset.id}.m3u8" + (f"?{query}" if query else "")
    return render(request, "player.html", {
        "section": "player", "view": target.view, "asset": asset, "kind": target.kind,
        "embed": target.kind == "embed", "base": ctx.base_for(request), "hls_src": hls_src,
    })


def _state_name(state: int) -> str:
    return EVENT_STATES[state] if 0 <= state < len(EVENT_STATES) else str(state)


@router.get("/vis/player/{event_id}.html", response_class=HTMLResponse)
def vis_player(request: Request, db: ReadDb, event_id: str) -> HTMLResponse:
    ctx = request.app.state.ctx
    # Lenient on purpose: an odd ?embed= value shows the full page rather than an error on an HTML route.
    embed = (request.query_params.get("embed") or "").strip().lower() in ("1", "true", "yes")
    event = db.get(VisEvent, event_id.strip()[:64])
    if event is None or event.deleted is not None:
        return not_found(request, f"There is no VIS event with id {event_id}.")
    media = db.get(Media, event.media_id) if event.media_id else None
    # Only a finished ingest plays; while an event (re-)ingests, its media item is not ready yet.
    ready = media is not None and media.state == "ready"
    renditions = (media.renditions or {}) if ready and media is not None else {}
    return render(request, "vis_player.html", {
        "section": "player", "event": event, "embed": embed, "state": _state_name(event.state),
        "hls_url": queries.media_file_url(media, renditions.get("master_playlist")) if ready else None,
        "mp4_url": queries.media_file_url(media, renditions.get("mp4")) if ready else None,
        "poster_url": queries.media_file_url(media, renditions.get("poster")) if ready else None,
        "ingesting": media is not None and media.state in ("pending", "processing"),
        "base": ctx.base_for(request),
    })
