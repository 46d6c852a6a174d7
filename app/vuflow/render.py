"""VIS objects as the API shows them: camelCase, `2020-03-18T17:42:28Z` dates, asset URLs.

An asset's `url` is its event's vuflow `storageUrlPublic` + "/" + the (percent-encoded) path; an
event that names no vuflow uses its key's default vuflow (app/domain/vis_vuflows.py). The url is ""
only when that vuflow is gone or sets no storageUrlPublic. The literal `{lynkflow}` in
storageUrlPublic stands for this instance's public base URL (seed convention), so one seed works on
any host and port.

An event's `video` object (reference §3.1) is filled only when the renderer is asked to process video
(`ProcessVideo`) and the event's recording is ingested (its media item is ready with an HLS master
playlist). Its URLs point at this lynkflow: the master playlist under /storage/, and the VIS player
page /vis/player/{eventId}.html (app/web/players.py). A list renders it from one batched media query.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from lynkflow import jsondoc
from lynkflow.db.models import Media, VisAsset, VisEvent, VisVuflow
from lynkflow.domain.vis_assets import ASSET_STATES, ASSET_TYPES
from lynkflow.domain.vis_events import EVENT_STATES, MP4_STATES
from lynkflow.domain.vis_vuflows import default_vuflow_id, storage_url_public
from lynkflow.kept_answers import json_bytes_response
from lynkflow.storage.paths import UnsafePath, safe_join
from lynkflow.storage.urls import storage_url
from lynkflow.vuflow.schemas import EVENT_EXTRA_FIELDS
from lynkflow.vuflow.times import format_date

# Stream protocol numbers seen in the 2018 docs (HLS=0, HSS=2, DASH=3, HDS=4); lynkflow makes HLS only.
HLS = 0
# lynkflow serves every file itself, so each URL is an origin URL (there is no CDN in front of it).
STREAM_SOURCE, STREAM_SOURCE_STRING = 0, "ORIGIN"


class _Texts:
    """Encoded JSON texts by everything they show, so an unchanged item listed again is one lookup.
    Bounded by clearing when full: a bound, not a policy (a cold page costs what it did without it)."""

    def __init__(self, size: int) -> None:
        self._items: dict[tuple[Any, ...], str] = {}
        self._size = size

    def get(self, key: tuple[Any, ...], doc: Callable[[], dict[str, Any]]) -> str:
        text = self._items.get(key)
        if text is None:
            text = jsondoc.encode(doc())
            if len(self._items) >= self._size:
                self._items.clear()
            self._items[key] = text
        return text


# Encoded assets (Renderer.asset_rows_json): about 1 kB an entry, a few MB. Events (Renderer.events_json):
# about 3 kB an entry.
_ASSET_TEXTS = _Texts(4096)
_EVENT_TEXTS = _Texts(2048)
# safe_join needs a base to check a relative path against; the check is lexical, so any folder does.
_CHECK_ROOT = Path("/nonexistent-lynkflow-root")


def json_response(doc: Any) -> Response:
    """The JSON answer, encoded now: byte for byte what FastAPI's default would send for `doc`.

    `doc` holds only JSON types (str, int, float, bool, None, lists and dicts), for which FastAPI's
    `jsonable_encoder` changes nothing and costs far more than the encoding itself; the encoding is
    the one `JSONResponse` uses. A write handler calls this inside its transaction: a value that
    cannot be encoded then fails the request and rolls the write back, instead of failing after the
    commit (and every later read of the row).
    """
    return Response(jsondoc.encode(doc).encode("utf-8"), media_type="application/json")


def json_text_response(text: str) -> Response:
    """The answer whose JSON text is already encoded (as `json_response` encodes)."""
    return json_bytes_response(text.encode("utf-8"))


def json_page_response(texts: list[str], total: int, page_size: int) -> Response:
    """`{"results": [...], "totalCount": total, "pageSize": page_size}` from encoded results: the bytes
    `json_response` gives for that document."""
    return json_text_response(jsondoc.join_object({"results": jsondoc.join_array(texts),
                                                   "totalCount": jsondoc.encode(total),
                                                   "pageSize": jsondoc.encode(page_size)}))


def json_array_response(texts: list[str]) -> Response:
    """The JSON array of these encoded items: the bytes `json_response` gives for the list of their documents
    (no whitespace between items, as its separators write)."""
    return json_text_response(jsondoc.join_array(texts))


def player_page_url(base: str, event_id: str) -> str:
    """The lynkflow page that plays an event's recording (app/web/players.py serves it)."""
    return f"{base}/vis/player/{quote(event_id)}.html"


def playable_media_file(media: Media | None, key: str) -> str | None:
    """The storage-relative path of one ingest output of a ready media item, or None.

    Only a finished ingest counts: while an event re-ingests, its media item is pending and the
    event has no playable recording yet.
    """
    if media is None or media.state != "ready" or not media.output_dir:
        return None
    relative = (media.renditions or {}).get(key)
    if not isinstance(relative, str) or not relative:
        return None
    try:
        safe_join(_CHECK_ROOT, media.output_dir, relative)  # refuse odd stored paths rather than emit them
    except UnsafePath:
        return None
    return f"{media.output_dir.rstrip('/')}/{relative}"


class Renderer:
    """Renders objects for one request, caching vuflow lookups across a list."""

    def __init__(self, db: Session, request: Request, *, process_video: bool = False) -> None:
        self.db = db
        ctx = request.app.state.ctx
        self.public_base = ctx.base_for(request)
        self.process_video = process_video
        self._event_flow: dict[str, str | None] = {}
        self._flows: dict[str, VisVuflow | None] = {}
        self._flow_base: dict[str | None, str] = {}  # vuflow id → storageUrlPublic, its JSON parsed once
        self._media: dict[str, Media | None] = {}

    def prefetch_media(self, events: Iterable[VisEvent | Row[Any]]) -> None:
        """Load the media items of a page of events in one query, so `video` costs nothing per row."""
        if not self.process_video:
            return
        wanted = {e.media_id for e in events if e.media_id and e.media_id not in self._media}
        if not wanted:
            return
        found = {m.id: m for m in self.db.scalars(select(Media).where(Media.id.in_(wanted)))}
        for media_id in wanted:
            self._media[media_id] = found.get(media_id)

    def _media_of(self, e: VisEvent | Row[Any]) -> Media | None:
        if e.media_id is None:
            return None
        if e.media_id not in self._media:
            self._media[e.media_id] = self.db.get(Media, e.media_id)
        return self._media[e.media_id]

    def video(self, e: VisEvent | Row[Any]) -> dict[str, Any] | None:
        """The `video` object of an event with an ingested recording; None otherwise (or when not asked)."""
        if not self.process_video or e.deleted is not None:
            return None
        master = playable_media_file(self._media_of(e), "master_playlist")
        if master is None:
            return None
        hls = {"streamProtocol": HLS, "streamProtocolString": "HLS", "url": storage_url(self.public_base, master),
               "streamSource": STREAM_SOURCE, "streamSourceString": STREAM_SOURCE_STRING}
        page = player_page_url(self.public_base, e.id)
        embed = html.escape(page + "?embed=true", quote=True)  # the base comes from a header: keep it inert
        return {
            "playerUrl": page,
            "embedCode": f'<iframe src="{embed}" width="640" height="360" frameborder="0" '
                         'allow="autoplay; fullscreen" allowfullscreen></iframe>',
            "scriptablePlayerUrl": page,
            "liveUrls": [],  # lynkflow has no live streams
            "vodUrls": [hls],
            "currentStateUrls": [dict(hls)],  # a VOD event's current state is its VOD
        }

    def _flow(self, vuflow_id: str | None) -> VisVuflow | None:
        if vuflow_id is None:
            return None
        if vuflow_id not in self._flows:
            self._flows[vuflow_id] = self.db.get(VisVuflow, vuflow_id)
        return self._flows[vuflow_id]

    def _base(self, vuflow_id: str | None, configuration_json: str | None) -> str:
        """The asset URL base of a vuflow (its configuration parsed once per request); "" when it has none."""
        if vuflow_id not in self._flow_base:
            base = storage_url_public(configuration_json)
            self._flow_base[vuflow_id] = base.replace("{lynkflow}", self.public_base).rstrip("/")
        return self._flow_base[vuflow_id]

    def _storage_base(self, event_id: str) -> str:
        if event_id not in self._event_flow:
            event = self.db.get(VisEvent, event_id)
            if event is None:
                self._event_flow[event_id] = None
            else:  # an event that names no vuflow stores its assets through its key's default one
                self._event_flow[event_id] = event.vuflow_id or default_vuflow_id(event.api_key)
        vuflow_id = self._event_flow[event_id]
        flow = self._flow(vuflow_id)
        return self._base(vuflow_id, flow.configuration_json if flow is not None else None)

    def asset_rows_json(self, rows: Iterable[Row[Any]]) -> list[str]:
        """The JSON text of each asset read by vis_assets.list_assets / asset_row (`json_array_response`
        joins them). Each row carries its vuflow's configuration, so rendering runs no statement.

        A row is read by position (the order of vis_assets.ROW_COLUMNS), and its text is remembered
        under everything it shows (its values and the URL base), so an unchanged asset listed again is
        one lookup, not a rendering and an encoding.
        """
        base = self._base
        texts = []
        for row in rows:
            values = (*row[:11], base(row[11], row[12]))
            texts.append(_ASSET_TEXTS.get(values, lambda values=values: _asset(*values)))
        return texts

    def asset(self, a: VisAsset) -> dict[str, Any]:
        return _asset(a.id, a.event_id, a.name, a.path, a.extension, a.state, a.type, a.job_id, a.content_id,
                      a.created, a.modified, self._storage_base(a.event_id))

    def events_json(self, rows: list[Row[Any]]) -> list[str]:
        """The JSON text of each event read by vis_event_queries.find_events. Each row carries its vuflow's
        name, so rendering runs no statement (but the one batched media query, when asked to process video).

        A row is read by position, all at once (a Row's attribute access costs more than the rest of the
        rendering). Without `video` (lists leave it null unless asked), an event's text is remembered under
        everything it shows: its columns, the stored text of `extra` and its vuflow's name.
        """
        if not rows:
            return []
        self.prefetch_media(rows)
        fields = rows[0]._fields
        values = itemgetter(*(fields.index(name) for name in (*_EVENT_VALUES, "flow_name")))
        if self.process_video:
            return [jsondoc.encode(self._event(e, *values(e))) for e in rows]
        shown = itemgetter(*(i for i, name in enumerate(fields) if name not in ("extra", "total")))
        return [_EVENT_TEXTS.get(shown(e), lambda e=e: self._event(e, *values(e))) for e in rows]

    def event(self, e: VisEvent) -> dict[str, Any]:
        flow = self._flow(e.vuflow_id)
        return self._event(e, *_event_values(e), flow.name if flow is not None else None)

    def _event(self, e: VisEvent | Row[Any], event_id: str, vuflow_id: str | None, state: int, mp4_state: int,
               title: str, ref_id: str | None, external_id: str | None, content_id: str, description: str,
               created: int, modified: int, deleted: int | None, media_id: str | None,
               extra: dict[str, Any] | None, flow_name: str | None) -> dict[str, Any]:
        out = _EVENT_TEMPLATE.copy()  # every key in its place: assigning a key keeps its position
        if self.process_video:
            out["video"] = self.video(e)
        out["id"] = event_id
        out["vuflowId"] = vuflow_id
        out["vuflow"] = flow_name
        out["state"] = state
        out["stateString"] = EVENT_STATES[state]
        out["mp4State"] = mp4_state
        out["mp4StateString"] = MP4_STATES.get(mp4_state, "NONE")
        out["title"] = title
        out["refId"] = ref_id
        out["externalId"] = external_id
        out["contentId"] = content_id
        out["description"] = description
        out["dateCreated"] = format_date(created)
        out["dateModified"] = format_date(modified)
        out["dateDeleted"] = format_date(deleted)
        if extra:
            for name, value in extra.items():
                if name in _EXTRA_NAMES:  # a flag stored as null shows false, as an absent one does
                    out[name] = False if value is None and name in _EVENT_FLAGS else value
        if media_id is not None:
            out["lynkflowMediaId"] = media_id  # extension: the media item holding the recording
        if extra and "lynkflowIngestError" in extra:
            out["lynkflowIngestError"] = extra["lynkflowIngestError"]
        return out


# What an event shows of its own columns, in the order Renderer._event takes them.
_EVENT_VALUES = ("id", "vuflow_id", "state", "mp4_state", "title", "ref_id", "external_id", "content_id",
                 "description", "created", "modified", "deleted", "media_id", "extra")
_event_values = attrgetter(*_EVENT_VALUES)
_EVENT_FLAGS = frozenset({"autoStart", "autoEnd", "autoPublish", "autoStartPublications",
                          "autoProvisionInfrastructure", "autoTerminateInfrastructure", "embededVodTimestamps",
                          "capturingLive2Vod", "externalUpdateAllowed"})
_EXTRA_NAMES = frozenset(EVENT_EXTRA_FIELDS)
# An event's keys in the order it shows them, with the value each has when nothing sets it (the documented
# extras: null, or false for a flag). Fields lynkflow has no behaviour for stay null.
_EVENT_TEMPLATE: dict[str, Any] = {
    "video": None, "id": None,
    **{name: False if name in _EVENT_FLAGS else None for name in EVENT_EXTRA_FIELDS},
    "channel": None, "vuflowId": None, "vuflow": None,
    "remixflow": None, "archiverflow": None, "infrastructureProfile": None,
    "state": None, "stateString": None, "mp4State": None, "mp4StateString": None,
    "eventType": None, "eventTypeColour": None, "room": None,
    "title": None, "refId": None, "externalId": None, "contentId": None, "description": None,
    "actualLiveStart": None, "actualLiveEnd": None, "instantVodStart": None, "instantVodEnd": None,
    "dateCreated": None, "dateModified": None, "dateDeleted": None,
}


def _asset(asset_id: str, event_id: str, name: str, path: str, extension: str, state: int, type_: int,
           job_id: str | None, content_id: str, created: int, modified: int, base: str) -> dict[str, Any]:
    return {
        "id": asset_id,
        "eventId": event_id,
        "name": name,
        "path": path,
        "extension": extension,
        "state": state,
        "stateString": ASSET_STATES[state],
        "type": type_,
        "typeString": ASSET_TYPES[type_],
        "jobId": job_id,
        "contentId": content_id,
        "dateCreated": format_date(created),
        "dateModified": format_date(modified),
        "url": f"{base}/{quote(path)}" if base else "",
    }


def vuflow(f: VisVuflow) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "configurationJson": f.configuration_json,
            "dateCreated": format_date(f.created), "dateModified": format_date(f.modified)}
