"""VIS request and response models for the OpenAPI document only.

The VIS face parses bodies by hand (`schemas.py`: case-insensitive names, numbers as text, ...) and
renders answers as dicts (`render.py`); these models describe the canonical form a client should
send and the shape it gets back. Bounds come from the constants the parser enforces, so the document
cannot drift from the checks. Examples are the ones on the VIS Assets page (the seed copy).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from lynkflow.domain.vis_assets import ASSET_STATES, ASSET_TYPES
from lynkflow.domain.vis_events import EVENT_STATES, MP4_STATES
from lynkflow.openapi import DocModel
from lynkflow.vuflow.schemas import (
    EVENT_EXTRA_FIELDS,
    GIF_DEFAULT_HEIGHT,
    GIF_MAX_FPS,
    MAX_DIMENSION,
    MAX_PLAYBACK_SPEED,
)

CLIP_TIME = ("`HH:mm:ss.fff` from the beginning of the recording (`00:00:46`), or an ISO 8601 date-time with a "
             "zone inside the recording")
PRIORITY = Field(None, ge=1, le=10, description="Processing priority: 1 (highest) to 10 (lowest); default 5")
FILENAME = Field(None, description="The file name to write; defaults to the Asset name")


class VisErrorBody(DocModel):
    """Every VIS failure (4xx, and 5xx for lynkflow's own bugs)."""

    exceptionType: str = Field(description="e.g. ValidationException, UnauthorizedException, NotFoundException, "
                                           "ConflictException")
    exceptionMessage: str = Field(description="What went wrong and what to send instead")
    errorType: str = Field(description="A stable name for the error, e.g. MissingField, EventNotFound")
    data: dict[str, Any] = Field(description="Details such as the offending `field`")

    model_config = ConfigDict(json_schema_extra={"example": {
        "exceptionType": "ValidationException", "exceptionMessage": "name is required and must be a non-empty string",
        "errorType": "MissingField", "data": {"field": "name"}}})


# --- assets -----------------------------------------------------------------------------------------


class Asset(DocModel):
    id: str = Field(description="Asset id (GUID)")
    eventId: str
    name: str
    path: str = Field(description="Storage path, `{contentId}/assets/{filename}.{extension}`")
    extension: str = Field(description="Without the dot: gif, mp4, jpg, ...")
    state: int = Field(ge=0, le=len(ASSET_STATES) - 1,
                       description=", ".join(f"{i} {n}" for i, n in enumerate(ASSET_STATES)))
    stateString: Literal[tuple(ASSET_STATES)]  # type: ignore[valid-type]
    type: int = Field(ge=0, le=len(ASSET_TYPES) - 1,
                      description=", ".join(f"{i} {n}" for i, n in enumerate(ASSET_TYPES)))
    typeString: Literal[tuple(ASSET_TYPES)]  # type: ignore[valid-type]
    jobId: str | None = Field(description="The processing job's id (a string)")
    contentId: str
    dateCreated: str = Field(description="`2020-03-18T17:42:28Z`")
    dateModified: str
    url: str = Field(description="The vuflow's storageUrlPublic + '/' + path, or \"\" when it has none")

    model_config = ConfigDict(json_schema_extra={"example": {
        "id": "be336dfa-2b79-41e0-b9ad-3256bba60722", "eventId": "c543b222-86fd-4905-b570-33f2fc6e8a82",
        "name": "Example Asset", "path": "path-to-content/filename.extension", "extension": "extension",
        "state": 1, "stateString": "COMPLETED", "type": 0, "typeString": "SYSTEM", "jobId": "9001",
        "contentId": "content-id-here", "dateCreated": "2020-03-18T17:42:28Z",
        "dateModified": "2020-03-18T17:42:28Z", "url": ""}})


class GifClip(DocModel):
    eventId: str = Field(description="The Event id")
    start: str = Field(description=CLIP_TIME)
    end: str = Field(description=CLIP_TIME + "; after start")


class VideoClip(GifClip):
    filter: str | None = Field(None, description="USP filter options, e.g. `(type==\"video\"&&DisplayHeight==576)`")


class GifRequest(DocModel):
    """POST /asset/gif/: a GIF cut from the event's recording. Property names match in any case."""

    clip: GifClip
    name: str = Field(min_length=1, description="The name of the Asset")
    fps: int | None = Field(None, ge=1, le=GIF_MAX_FPS, description="Frames per second; default 12")
    width: float | None = Field(None, ge=0, le=MAX_DIMENSION, description="Pixels; 0 or null = from the height")
    height: float | None = Field(None, ge=0, le=MAX_DIMENSION,
                                 description=f"Pixels; 0 or null = from the width ({GIF_DEFAULT_HEIGHT} when "
                                             "neither is given)")
    playbackSpeed: float | None = Field(None, ge=0, le=MAX_PLAYBACK_SPEED,
                                        description="0.0 is a still frame, 1.0 normal speed (default)")
    playbackRepeats: int | None = Field(None, ge=-1, le=10_000,
                                        description="-1 plays once, 0 loops forever (default), n repeats n times")
    reverse: bool | None = Field(None, description="Play backwards; default false")
    filename: str | None = FILENAME
    priority: int | None = PRIORITY

    model_config = ConfigDict(json_schema_extra={"example": {
        "clip": {"eventId": "c8e46941-b513-49dc-a9a6-868a9998a062", "start": "00:00:46", "end": "00:00:52"},
        "name": "Example GIF", "fps": 18, "height": None, "width": None, "playbackRepeats": 0,
        "reverse": False, "playbackSpeed": 1.0}})


class VideoRequest(DocModel):
    """POST /asset/video/: an MP4 clip of the event's recording."""

    clip: VideoClip
    name: str = Field(min_length=1, description="The name of the Asset")
    mezzanine: bool | None = Field(None, description="Only the highest track (true) or all tracks (false, default)")
    frameAccurate: bool | None = Field(None, description="Cut exactly at the requested frames; default true")
    copyTs: bool | None = Field(None, description="Keep the source timestamps; default false")
    filename: str | None = FILENAME
    priority: int | None = PRIORITY

    model_config = ConfigDict(json_schema_extra={"example": {
        "clip": {"eventId": "c8e46941-b513-49dc-a9a6-868a9998a062", "start": "00:00:46", "end": "00:00:52",
                 "filter": None},
        "name": "Example Video", "mezzanine": False, "frameAccurate": False, "copyTs": False, "priority": None,
        "filename": None}})


class ImageRequest(DocModel):
    """POST /asset/image/: one JPG frame of the event's recording (no `clip` object)."""

    eventId: str = Field(description="The Event id")
    name: str = Field(min_length=1, description="The name of the Asset")
    time: str = Field(description=CLIP_TIME)
    width: float | None = Field(None, ge=0, le=MAX_DIMENSION,
                                description="lynkflow extension: output width in pixels; default the source's")
    filename: str | None = FILENAME
    priority: int | None = PRIORITY

    model_config = ConfigDict(json_schema_extra={"example": {
        "eventId": "c8e46941-b513-49dc-a9a6-868a9998a062", "name": "JPEG from 5 seconds in", "time": "00:00:05",
        "priority": None, "filename": None}})


class SyncResult(DocModel):
    hasVodFileChanged: bool
    createdAssetsCount: int
    deletedAssetsCount: int
    pathEvaluated: str

    model_config = ConfigDict(json_schema_extra={"example": {
        "hasVodFileChanged": False, "createdAssetsCount": 0, "deletedAssetsCount": 0,
        "pathEvaluated": "content/vod/folder"}})


# --- events -----------------------------------------------------------------------------------------

_STORED = {name: (Any, Field(None, description="Stored and returned as given")) for name in EVENT_EXTRA_FIELDS}
_EventStored: type[BaseModel] = create_model("EventStoredFields", __base__=DocModel, **_STORED)  # type: ignore[call-overload]


class StreamUrl(DocModel):
    streamProtocol: int = Field(description="0 HLS (the only protocol lynkflow makes)")
    streamProtocolString: str
    url: str
    streamSource: int
    streamSourceString: str


class EventVideo(DocModel):
    playerUrl: str
    embedCode: str
    scriptablePlayerUrl: str
    liveUrls: list[StreamUrl]
    vodUrls: list[StreamUrl]
    currentStateUrls: list[StreamUrl]


class Event(_EventStored):  # type: ignore[misc, valid-type]
    video: EventVideo | None = Field(description="Playback URLs of the ingested recording (ProcessVideo)")
    id: str
    channel: Any = None
    vuflowId: str | None
    vuflow: str | None = Field(description="The vuflow's name")
    remixflow: Any = None
    archiverflow: Any = None
    infrastructureProfile: Any = None
    state: int = Field(ge=0, le=len(EVENT_STATES) - 1,
                       description=", ".join(f"{i} {n}" for i, n in enumerate(EVENT_STATES)))
    stateString: Literal[tuple(EVENT_STATES)]  # type: ignore[valid-type]
    mp4State: int = Field(description=", ".join(f"{i} {n}" for i, n in MP4_STATES.items()))
    mp4StateString: str
    eventType: Any = None
    eventTypeColour: Any = None
    room: Any = None
    title: str
    refId: str | None
    externalId: str | None
    contentId: str
    description: str
    actualLiveStart: str | None = None
    actualLiveEnd: str | None = None
    instantVodStart: str | None = None
    instantVodEnd: str | None = None
    dateCreated: str
    dateModified: str
    dateDeleted: str | None
    lynkflowMediaId: str | None = Field(None, description="lynkflow extension: the media item of the recording")
    lynkflowIngestError: str | None = Field(None, description="lynkflow extension: why the last ingest failed")

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "video": None, "id": "346eb986-7d3c-4ad8-b2a1-0a3c4ef3d0c1", "vuflowId": None, "vuflow": None,
        "state": 11, "stateString": "VOD_PUBLIC", "mp4State": 0, "mp4StateString": "NONE", "title": "Match day",
        "refId": None, "externalId": None, "contentId": "346eb986-7d3c-4ad8-b2a1-0a3c4ef3d0c1",
        "description": "", "dateCreated": "2020-03-18T17:42:28Z", "dateModified": "2020-03-18T17:42:28Z",
        "dateDeleted": None}})


class EventPage(DocModel):
    results: list[Event]
    totalCount: int
    pageSize: int


class EventRequest(_EventStored):  # type: ignore[misc, valid-type]
    """POST /event/ and PATCH /event/{id}: every field optional; names match in any case."""

    id: str | None = Field(None, description="Create with this GUID (POST) / must match the URL (PATCH)")
    title: str | None = None
    description: str | None = None
    contentId: str | None = Field(None, description="Names the storage folder; defaults to the id, fixed after "
                                                    "creation")
    externalId: str | None = None
    refId: str | None = None
    vuflowId: str | None = Field(None, description="A Vuflow of this key (its storageUrlPublic makes asset URLs)")
    mediaId: str | None = Field(None, description="lynkflow extension: attach an ingested media item as the "
                                                  "recording")
    sourcePath: str | None = Field(None, description="lynkflow extension: ingest this file of the media folder "
                                                     "as the recording")

    model_config = ConfigDict(json_schema_extra={"example": {
        "title": "Match day", "refId": "match-42", "vuflowId": "5b0e6f0c-1d2a-4c7e-9a51-1f2e3d4c5b6a",
        "tags": ["football"]}})


class EventStateRequest(DocModel):
    """PUT /event/state/{id}: `{"state": "VOD_PUBLIC"}` (a bare name or number is accepted too)."""

    state: str | int = Field(description="A state name or number; lynkflow moves an ingested VOD between "
                                         "VOD_PRIVATE and VOD_PUBLIC")

    model_config = ConfigDict(json_schema_extra={"example": {"state": "VOD_PUBLIC"}})


# --- vuflows and health -----------------------------------------------------------------------------


_CONFIGURATION = "{\"vuflows\": [{\"name\": \"main\", \"storageUrlPublic\": \"{lynkflow}/storage/vis\"}]}"


class Vuflow(DocModel):
    id: str
    name: str
    configurationJson: str = Field(description="The configuration as a JSON string")
    dateCreated: str
    dateModified: str

    model_config = ConfigDict(json_schema_extra={"example": {
        "id": "5b0e6f0c-1d2a-4c7e-9a51-1f2e3d4c5b6a", "name": "Example Vuflow",
        "configurationJson": _CONFIGURATION,
        "dateCreated": "2020-03-18T17:42:28Z", "dateModified": "2020-03-18T17:42:28Z"}})


class VuflowRequest(DocModel):
    id: str | None = Field(None, description="Create with this GUID (POST) / must match the URL (PUT)")
    name: str | None = Field(None, description="Required on POST")
    configurationJson: str | dict[str, Any] | None = Field(
        None, description="A JSON string (or an object); `vuflows[0].storageUrlPublic` is the base of asset URLs, "
                          "`{lynkflow}` standing for this server")

    model_config = ConfigDict(json_schema_extra={"example": {
        "name": "Example Vuflow",
        "configurationJson": _CONFIGURATION}})


class Health(DocModel):
    status: Literal["Healthy", "Unhealthy"]
    vis: str
    vts: str
    database: str


class HealthVersion(DocModel):
    client: str
    machineName: str
    assemblyVersion: str
    fileVersion: str
    productVersion: str
