"""OpenAPI description of each VIS operation: `@route(path, method, **docs_routes.NAME)` in routes.py.

Each entry gives FastAPI the summary, the query parameters the handler reads by hand, the request
body (documentation only: FastAPI never validates or filters it), every status the operation can
answer with its model, and the VIS security requirement. `response_model=None` keeps FastAPI from
inferring a response model from the handler's annotation: answers are serialised as they are.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from lynkflow import openapi
from lynkflow.openapi import VIS, VIS_SECURITY
from lynkflow.vuflow.docs_models import (
    Asset,
    Event,
    EventPage,
    EventRequest,
    EventStateRequest,
    GifRequest,
    Health,
    HealthVersion,
    ImageRequest,
    SyncResult,
    VideoRequest,
    VisErrorBody,
    Vuflow,
    VuflowRequest,
)

_ERRORS = {
    400: "Not valid: a malformed body, a missing or wrong-typed field, a bad query value (VIS error)",
    401: "Missing or unknown API key (send `API-KEY: <key>`)",
    404: "No such object for this API key",
    409: "Conflicts with the object's current state",
    413: "The request body is larger than the VIS accepts",
    503: "Unhealthy: the database does not answer",
}


def query(name: str, schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return openapi.query(name, schema, description + " (the name matches in any case)", required=required)


def _op(op_id: str, summary: str, description: str, ok: Any, *, errors: tuple[int, ...] = (400, 401),
        body: type[BaseModel] | None = None, params: tuple[dict[str, Any], ...] = (),
        auth: bool = True) -> dict[str, Any]:
    return openapi.operation("vis_" + op_id, summary, description, tag=VIS, security=VIS_SECURITY if auth else [],
                             ok=ok, errors={s: (_ERRORS[s], VisErrorBody) for s in errors}, body=body,
                             params=params)


_GUID = {"type": "string", "format": "uuid"}
_TEXT = {"type": "string"}
_BOOL = {"type": "boolean"}
_ASSET_FILTERS = (
    query("eventId", _GUID, "Only this Event's Assets"),
    query("contentId", _TEXT, "Only Assets with this content id"),
    query("jobId", _TEXT, "Only Assets of this job"),
    query("name", _TEXT, "Only Assets with this name"),
    query("states", _TEXT, "Comma-separated states, names or numbers (GENERATING,COMPLETED or 0,1)"),
    query("types", _TEXT, "Comma-separated types, names or numbers (GIF,IMAGE or 3,1)"),
)
_EVENT_PAGE = (
    query("pageSize", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 25}, "Events per page"),
    query("pageNumber", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}, "Page, from 1"),
    query("order", {"type": "string", "enum": ["ASC", "DESC"], "default": "DESC"}, "By creation time"),
    query("ProcessVideo", _BOOL, "Fill each event's `video` URLs (default false in lists)"),
)
_EVENT_FILTERS = (
    query("from", _TEXT, "Created at or after: ISO 8601 date-time with a zone, or a date"),
    query("to", _TEXT, "Created at or before: ISO 8601 date-time with a zone, or a date"),
    query("channel", _GUID, "Only events with this channelId"),
    query("eventType", _GUID, "Only events with this eventTypeId"),
    query("category", _GUID, "Only events with this categoryId"),
    query("tags", _TEXT, "Comma-separated tags; events with any of them"),
)
_REF_ID = query("refId", _TEXT, "The reference id (required)")
_EXTERNAL_ID = query("externalId", _TEXT, "The external id (required)")

HEALTH = _op("health", "Health of the VIS", "200 when the VIS, the task engine and the database are healthy, "
             "503 otherwise. No API key needed.", Health, errors=(503,), auth=False)
HEALTH_VERSION = _op("health_version", "Version of the VIS", "The service's version fields.", HealthVersion,
                     errors=(), auth=False)

VUFLOW_LIST = _op("vuflow_list", "List Vuflows", "Every Vuflow of this API key.", list[Vuflow])
VUFLOW_CREATE = _op("vuflow_create", "Create a Vuflow", "`name` is required; `configurationJson` defaults to `{}`.",
                    Vuflow, errors=(400, 401, 409, 413), body=VuflowRequest)
VUFLOW_GET = _op("vuflow_get", "Get a Vuflow", "One Vuflow by id.", Vuflow, errors=(400, 401, 404))
VUFLOW_UPDATE = _op("vuflow_update", "Update a Vuflow", "Change the name and/or configurationJson; a body `id` "
                    "must match the URL.", Vuflow, errors=(400, 401, 404, 413), body=VuflowRequest)
VUFLOW_DELETE = _op("vuflow_delete", "Delete a Vuflow", "Refused (409) while events use it. Empty 200 body.", None,
                    errors=(400, 401, 404, 409))

EVENT_CREATE = _op("event_create", "Create an Event", "A VOD event (PRE_VOD). With `sourcePath` or `mediaId` "
                   "(lynkflow extensions) its recording is ingested or attached.", Event,
                   errors=(400, 401, 404, 409, 413), body=EventRequest)
EVENT_LIST = _op("event_list", "List Events", "A page of this key's events, newest first by default.", EventPage,
                 params=_EVENT_FILTERS + _EVENT_PAGE)
EVENT_LIST_DELETED = _op("event_list_deleted", "List soft-deleted Events", "Like GET /event/, for deleted events.",
                         EventPage, params=_EVENT_FILTERS + _EVENT_PAGE)
EVENT_BY_REFERENCE = _op("event_by_reference", "Find Events by reference id", "A page of events with this refId.",
                         EventPage, params=(_REF_ID, *_EVENT_PAGE))
EVENT_BY_EXTERNAL = _op("event_by_external", "Find Events by external id", "A page of events with this externalId.",
                        EventPage, params=(_EXTERNAL_ID, *_EVENT_PAGE))
EVENT_REFERENCE_UNIQUE = _op("event_reference_unique", "Is a reference id unused?",
                             "true when no event of this key has the refId.", bool, params=(_REF_ID,))
EVENT_EXTERNAL_UNIQUE = _op("event_external_unique", "Is an external id unused?",
                            "true when no event of this key has the externalId.", bool, params=(_EXTERNAL_ID,))
EVENT_UPDATE_BY_REFERENCE = _op("event_update_by_reference", "Update the Event with a reference id",
                                "As PATCH /event/{id}; 409 when several events share the refId.", Event,
                                errors=(400, 401, 404, 409, 413), body=EventRequest)
EVENT_CLONE = _op("event_clone", "Clone an Event", "A new PRE_VOD event with the same fields (no recording).",
                  Event, errors=(400, 401, 404))
EVENT_FORCE_STOP = _op("event_force_stop", "Force-stop a live Event",
                       "Only live events can be force-stopped and lynkflow runs no live encoders: it answers 409 "
                       "(or 404). The real service answers 200 with the event.", Event, errors=(400, 401, 404, 409))
EVENT_RESTORE = _op("event_restore", "Restore a soft-deleted Event", "409 when the event is not deleted.", Event,
                    errors=(400, 401, 404, 409))
EVENT_STATE = _op("event_state", "Change an Event's state",
                  "lynkflow moves an ingested VOD between VOD_PRIVATE and VOD_PUBLIC; other changes are 409.",
                  Event, errors=(400, 401, 404, 409, 413), body=EventStateRequest)
EVENT_GET = _op("event_get", "Get an Event", "One event; `video` is filled unless ProcessVideo=false.", Event,
                errors=(400, 401, 404),
                params=(query("ProcessVideo", _BOOL, "Fill `video` (default true)"),
                        query("StreamSource", _TEXT, "Accepted and ignored: every URL is lynkflow's own")))
EVENT_UPDATE = _op("event_update", "Update an Event", "Only the fields sent change; `sourcePath`/`mediaId` replace "
                   "the recording (409 while one is ingesting).", Event, errors=(400, 401, 404, 409, 413),
                   body=EventRequest)
EVENT_DELETE = _op("event_delete", "Delete an Event", "A soft delete (restorable) unless hardDelete=true. Empty "
                   "200 body.", None, errors=(400, 401, 404),
                   params=(query("hardDelete", _BOOL, "Remove the event, its assets and files for good"),))

_ASSET_MADE = ("Answers at once with the new Asset in state 0 GENERATING; it becomes COMPLETED (or FAILED) "
               "when the file is made. 404 for an unknown event, 409 when the event has no recording yet or the "
               "file name is taken, 400 when the clip is outside the recording.")
ASSET_GIF = _op("asset_gif", "Request a GIF Asset", "A GIF of `clip` of the event's recording. " + _ASSET_MADE,
                Asset, errors=(400, 401, 404, 409, 413), body=GifRequest)
ASSET_VIDEO = _op("asset_video", "Request a VIDEO Asset", "An MP4 of `clip` of the event's recording. " + _ASSET_MADE,
                  Asset, errors=(400, 401, 404, 409, 413), body=VideoRequest)
ASSET_IMAGE = _op("asset_image", "Request an IMAGE Asset", "A JPG of the frame at `time`. " + _ASSET_MADE, Asset,
                  errors=(400, 401, 404, 409, 413), body=ImageRequest)
ASSET_SYNC = _op("asset_sync", "Synchronise an Event's Assets with storage",
                 "Creates SYSTEM Assets for files in the event's VOD folder and removes Assets whose file is gone. "
                 "409 when the event has no VOD file.", SyncResult, errors=(400, 401, 404, 409))
ASSET_LIST = _op("asset_list", "List Assets", "A bare JSON array, 100 per page.", list[Asset],
                 params=(*_ASSET_FILTERS,
                         query("extensions", _TEXT, "Comma-separated file-name endings (gif, _sprite.jpg)"),
                         query("pageIndex", {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0},
                               "Page, from 0"),
                         query("noCache", _BOOL, "Accepted; changes nothing: a kept answer is never stale")))
ASSET_DELETE_MANY = _op("asset_delete_many", "Delete Assets matching filters",
                        "At least one filter is required; SYSTEM Assets are kept. Empty 200 body.", None,
                        params=_ASSET_FILTERS)
ASSET_GET = _op("asset_get", "Get an Asset", "One Asset by id.", Asset, errors=(400, 401, 404),
                params=(query("noCache", _BOOL, "Accepted; changes nothing: a kept answer is never stale"),))
ASSET_RENAME = _op("asset_rename", "Rename an Asset", "The new name is the `Name` query parameter.", Asset,
                   errors=(400, 401, 404), params=(query("Name", _TEXT, "The new name", required=True),))
ASSET_DELETE = _op("asset_delete", "Delete an Asset", "SYSTEM Assets cannot be deleted (400). Empty 200 body.",
                   None, errors=(400, 401, 404))
