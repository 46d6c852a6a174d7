"""VIS objects as the API shows them: camelCase, `2020-03-18T17:42:28Z` dates, asset URLs.

An asset's `url` is its event's vuflow `storageUrlPublic` + "/" + the (percent-encoded) path, or ""
when the event has no vuflow or the vuflow sets no storageUrlPublic. The literal `{lynkflow}` in
storageUrlPublic stands for this instance's public base URL (seed convention), so one seed works on
any host and port.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from sqlalchemy.orm import Session

from app.db.models import VisAsset, VisEvent, VisVuflow
from app.domain.vis_assets import ASSET_STATES, ASSET_TYPES
from app.domain.vis_events import EVENT_STATES, MP4_STATES
from app.domain.vis_vuflows import storage_url_public
from app.vuflow.schemas import EVENT_EXTRA_FIELDS
from app.vuflow.times import format_date


class Renderer:
    """Renders objects for one request, caching vuflow lookups across a list."""

    def __init__(self, db: Session, request: Request) -> None:
        self.db = db
        ctx = request.app.state.ctx
        self.public_base = ctx.public_base(str(request.base_url))
        self._event_flow: dict[str, str | None] = {}
        self._flows: dict[str, VisVuflow | None] = {}

    def _flow(self, vuflow_id: str | None) -> VisVuflow | None:
        if vuflow_id is None:
            return None
        if vuflow_id not in self._flows:
            self._flows[vuflow_id] = self.db.get(VisVuflow, vuflow_id)
        return self._flows[vuflow_id]

    def _storage_base(self, event_id: str) -> str:
        if event_id not in self._event_flow:
            event = self.db.get(VisEvent, event_id)
            self._event_flow[event_id] = event.vuflow_id if event is not None else None
        flow = self._flow(self._event_flow[event_id])
        base = storage_url_public(flow.configuration_json) if flow is not None else ""
        return base.replace("{lynkflow}", self.public_base).rstrip("/")

    def asset(self, a: VisAsset) -> dict[str, Any]:
        base = self._storage_base(a.event_id)
        return {
            "id": a.id,
            "eventId": a.event_id,
            "name": a.name,
            "path": a.path,
            "extension": a.extension,
            "state": a.state,
            "stateString": ASSET_STATES[a.state],
            "type": a.type,
            "typeString": ASSET_TYPES[a.type],
            "jobId": a.job_id,
            "contentId": a.content_id,
            "dateCreated": format_date(a.created),
            "dateModified": format_date(a.modified),
            "url": f"{base}/{quote(a.path)}" if base else "",
        }

    def event(self, e: VisEvent) -> dict[str, Any]:
        flow = self._flow(e.vuflow_id)
        extra = e.extra or {}
        out: dict[str, Any] = {"video": None, "id": e.id}
        out.update({name: None for name in EVENT_EXTRA_FIELDS})
        out.update({
            "channel": None, "vuflowId": e.vuflow_id, "vuflow": flow.name if flow is not None else None,
            "remixflow": None, "archiverflow": None, "infrastructureProfile": None,
            "state": e.state, "stateString": EVENT_STATES[e.state],
            "mp4State": e.mp4_state, "mp4StateString": MP4_STATES.get(e.mp4_state, "NONE"),
            "eventType": None, "eventTypeColour": None, "room": None,
            "title": e.title, "refId": e.ref_id, "externalId": e.external_id, "contentId": e.content_id,
            "description": e.description,
            "actualLiveStart": None, "actualLiveEnd": None, "instantVodStart": None, "instantVodEnd": None,
            "dateCreated": format_date(e.created), "dateModified": format_date(e.modified),
            "dateDeleted": format_date(e.deleted),
        })
        for name in EVENT_EXTRA_FIELDS:
            if name in extra:
                out[name] = extra[name]
        for flag in ("autoStart", "autoEnd", "autoPublish", "autoStartPublications", "autoProvisionInfrastructure",
                     "autoTerminateInfrastructure", "embededVodTimestamps", "capturingLive2Vod",
                     "externalUpdateAllowed"):
            if out[flag] is None:
                out[flag] = False
        if e.media_id is not None:
            out["lynkflowMediaId"] = e.media_id  # extension: the media item holding the recording
        if "lynkflowIngestError" in extra:
            out["lynkflowIngestError"] = extra["lynkflowIngestError"]
        return out


def vuflow(f: VisVuflow) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "configurationJson": f.configuration_json,
            "dateCreated": format_date(f.created), "dateModified": format_date(f.modified)}
