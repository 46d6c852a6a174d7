"""api2 operations for the OpenAPI document: the parameters that go inside `msg`, and each answer.

Documentation only (the face parses `msg` by hand, app/uplynk/params.py). On the wire every operation
takes the signed `msg`/`sig` pair (query string or form body) and answers HTTP 200 with
`{..., "error": 0}` or `{"error": 1, "msg": "..."}`; `api2_doc(name, method)` gives `add_api_route`
the summary, the pair, the decoded parameters as the `x-decoded-msg` extension (a JSON Schema
reference), the answer as a oneOf of success and error, and examples from the reference and seeds.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import ConfigDict, Field

from lynkflow import openapi
from lynkflow.openapi import API2_SECURITY, UPLYNK, DocModel
from lynkflow.uplynk.frames import MAX_THUMB_RANGE_MS
from lynkflow.uplynk.library import ASSETS_LIMIT_MAX, LIST_LIMIT, MAX_DESC, MAX_IDS

StrList = list[str] | str  # a list, one string, or a comma-separated string (clients send all three)
_OPEN = ConfigDict(extra="allow")  # "new members may be added at any time" (reference §1.1)


class Api2ErrorBody(DocModel):
    """Every api2 failure: HTTP 200 with error 1 and a message."""

    error: Literal[1]
    msg: str

    model_config = ConfigDict(json_schema_extra={"example": {"error": 1, "msg": "missing required parameter ts"}})


class Ok(DocModel):
    error: Literal[0]
    model_config = _OPEN


# --- shapes -----------------------------------------------------------------------------------------


class TestPlayer(DocModel):
    desc: str
    id: str
    url: str


class AssetDoc(DocModel):
    """The asset dictionary (reference §2)."""

    id: str = Field(description="32 lowercase hex")
    external_id: str
    desc: str
    owner: str
    state: str = Field(description="e.g. ready, slicing, error, deleted")
    job_type: str
    duration: float | None
    rays: int | None
    slices: int | None
    created: int = Field(description="Epoch ms")
    lastmod: int
    autoexpire: int
    require_drm: int
    require_studio_drm: int
    meta: dict[str, Any]
    libraries: list[str]
    test_players: list[TestPlayer]
    test_player_url: str | None
    embed_player_url: str | None
    thumb_url: str | None
    mp4_url: str | None
    ttml_url: str | None
    model_config = _OPEN


class JobDoc(DocModel):
    """The cloud-slicer job dictionary (reference §5.1)."""

    id: str
    owner: str
    state: Literal["waiting", "assigned", "done", "error", "cancelled"]
    source: dict[str, Any]
    args: dict[str, Any]
    asset: str | None
    attempts: int
    last_error: str
    last_start: int
    finished: int
    created: int
    progress: str
    model_config = _OPEN


class LibraryDoc(DocModel):
    created: int
    desc: str
    id: str
    lastmod: int
    owner: str
    asset_count: int = Field(description="lynkflow extension: live assets in the library")


class SubownerDoc(Ok):
    username: str = Field(description="prefix.name")
    permissions: list[Literal["slice", "api"]]
    api_key: str
    all_api_keys: dict[str, dict[str, bool]]
    id: str


# --- parameters (the JSON inside msg, besides _owner and _timestamp) ----------------------------------


class Params(DocModel):
    model_config = _OPEN


class AssetGetParams(Params):
    """Exactly one of the four."""

    id: str | None = None
    external_id: str | None = None
    ids: StrList | None = Field(None, description="At most 1000")
    external_ids: StrList | None = None


class AssetListParams(Params):
    query: str | None = Field(None, description="CMS search syntax: words, `\"phrase\"`, `+must`, `-not`, `*`, "
                                                "`name:`, `external:`, `id:`, `meta:Field=Value`, `source:`")
    search: str | None = Field(None, description="Deprecated substring search")
    order: str | None = Field(None, description="created, desc, duration, external_id, id, lastmod, source, state; "
                                                "`-` for descending; default -created")
    limit: int | None = Field(None, ge=1, le=100, description="Default 100")
    skip: int | None = Field(None, ge=0)
    ignore_shared_libraries: bool | None = None


class AssetUpdateParams(Params):
    id: str | None = Field(None, description="The asset; with external_id too, assigns that external ID")
    external_id: str | None = None
    desc: str | None = None
    meta: dict[str, Any] | str | None = Field(None, description="Merged into the metadata; {} clears it")
    require_drm: int | None = Field(None, ge=0, le=1)
    require_studio_drm: int | None = Field(None, ge=0, le=1)
    autoexpire: int | None = Field(None, ge=0, description="Epoch ms after which the asset is deleted; 0 = never")
    poster_img: str | None = Field(None, description="A base64 image; '' resets the poster")
    test_player_url: Any = Field(None, description="Any value: add a test player")
    embed_player_url: Any = Field(None, description="Any value: a new embed player")


class AssetDeleteParams(Params):
    ids: StrList | None = None
    external_ids: StrList | None = None


class AssetChangesParams(Params):
    start: int = Field(ge=0, description="Epoch ms, inclusive")
    end: int | None = Field(None, ge=0, description="lynkflow extension: epoch ms, inclusive; default now")


class GetFrameParams(Params):
    id: str | None = None
    ts: int | str = Field(description="Milliseconds (91415) or 'hh:mm:ss.ms' ('00:01:31.415')")


class GetThumbsParams(Params):
    id: str | None = None
    external_id: str | None = None
    start: int | str = Field(description="Milliseconds or 'hh:mm:ss.ms'")
    stop: int | str | None = Field(None, description=f"Default start + {MAX_THUMB_RANGE_MS} ms; a range of at most "
                                                     f"{MAX_THUMB_RANGE_MS} ms")


class LibraryIdParams(Params):
    id: str


class LibraryGetParams(Params):
    id: str | None = None
    ids: StrList | None = None


class PagingParams(Params):
    limit: int | None = Field(None, ge=1, le=LIST_LIMIT)
    skip: int | None = Field(None, ge=0)


class LibraryAssetsParams(LibraryIdParams):
    limit: int | None = Field(None, ge=1, le=ASSETS_LIMIT_MAX)
    skip: int | None = Field(None, ge=0)


class LibraryDescParams(Params):
    desc: str = Field(min_length=1, max_length=MAX_DESC, description="The library's name")


class LibraryUpdateParams(LibraryIdParams):
    desc: str = Field(min_length=1, max_length=MAX_DESC)


class LibraryMembersParams(LibraryIdParams):
    asset_id: str | None = None
    asset_ids: StrList | None = Field(None, description=f"At most {MAX_IDS}")


class LibraryShareParams(LibraryIdParams):
    owner: str = Field(description="The user ID to share with")


class KeyToggleParams(Params):
    key_to_toggle: str = Field(description="The key's id (new_key_id), not the key")
    is_enabled: bool


class KeyDeleteParams(Params):
    key_to_delete: str = Field(description="The key's id (new_key_id)")


class JobCreateParams(Params):
    source: dict[str, Any] | str = Field(description='{"url": "<file in the media folder or http://127.0.0.1/...>"}')
    args: dict[str, Any] | str | None = Field(None, description="external_id, description, trim ('start_ms,end_ms'), "
                                                                "meta ('k=v,,,k=v')")
    high_priority: bool | None = None


class QuickclipParams(Params):
    source: dict[str, Any] = Field(description='{"trim": [start_ms, duration_ms]}')
    args: dict[str, Any] = Field(description='{"beam_id": "<ready asset>", "poster_ts": ms or "hh:mm:ss.ms"}')
    high_priority: bool | None = None


class JobIdParams(Params):
    id: str


class JobDeleteParams(Params):
    ids: StrList


class ExportParams(Params):
    asset: str = Field(description="The asset to export as MP4")
    aaclc: bool | None = Field(None, description="AAC-LC audio instead of HE-AAC")


class SubownerCreateParams(Params):
    username: str = Field(description="prefix.name, e.g. acme.jane")
    password: str
    permissions: StrList | None = Field(None, description="A subset of slice, api")


class SubownerIdParams(Params):
    id: str


class SubownerUpdateParams(SubownerIdParams):
    password: str | None = None
    permissions: StrList | None = None
    newkey: bool | None = Field(None, description="1: a fresh api_key (the old one is disabled)")


# --- answers ----------------------------------------------------------------------------------------


class AssetResult(Ok):
    asset: AssetDoc | None = None
    assets: list[AssetDoc] | None = None


class AssetListResult(Ok):
    assets: list[AssetDoc]
    shared_assets: list[AssetDoc] | None = None


class Deleted(DocModel):
    external_id: str
    id: str


class AssetDeleteResult(Ok):
    deleted: list[Deleted]


class AssetChangesResult(Ok):
    changes: list[list[Any]] = Field(description="[time ms, 'update' | 'delete', asset id]")
    assets: dict[str, AssetDoc]
    start: int
    end: int


class FrameResult(Ok):
    img: str = Field(description="Base64 PNG")


class ThumbsResult(Ok):
    imgs: list[str] = Field(description="Base64 PNGs")


class LibraryResult(Ok):
    library: LibraryDoc | None = None
    libraries: list[LibraryDoc] | None = None
    added: list[str] | None = None
    removed: list[str] | None = None
    shared_with: list[str] | None = None


class ChannelListResult(Ok):
    channels: list[dict[str, Any]] = Field(description="Always empty: lynkflow does not emulate live channels")


class LibraryAssetsResult(Ok):
    assets: list[AssetDoc]


class KeyAddResult(Ok):
    new_api_key: str
    new_key_id: str


class KeyToggleResult(Ok):
    key_id: str
    is_enabled: bool


class KeyDeleteResult(Ok):
    deleted_key_id: str


class JobResult(Ok):
    job: JobDoc


class JobListResult(Ok):
    jobs: list[JobDoc]


class JobDeleteResult(Ok):
    actions: list[list[str]] = Field(description="[job id, 'deleted' | 'Not found' | why not]")


class SubownerListResult(Ok):
    subowners: list[SubownerDoc]


class SubownerDeleteResult(Ok):
    id: str


_ASSET = {"id": "5915d84829405cb4db1bc3f71c10fc83", "external_id": "id1234", "desc": "foux du fu fa fa",
          "owner": "6e6f2d736c696365722d6f776e657231", "state": "ready", "job_type": "vod",
          "duration": 88.88598639455783, "rays": 8, "slices": 22, "created": 1345730768265,
          "lastmod": 1345730768265, "autoexpire": 0, "require_drm": 0, "require_studio_drm": 0, "meta": {},
          "libraries": [], "test_players": [], "test_player_url": None, "embed_player_url": None,
          "thumb_url": None, "mp4_url": None, "ttml_url": None}
_JOB = {"id": "1ca770087e7a46a7aec4f8aebc198aff", "owner": "6e6f2d736c696365722d6f776e657231", "state": "waiting",
        "source": {"url": "clip.mp4"}, "args": {"trim": "5000,10000", "desc": "blarg"}, "asset": None,
        "attempts": 0, "last_error": "", "last_start": 0, "finished": 0, "created": 1700000000000,
        "progress": "Waiting for a slicer"}
_LIBRARY = {"created": 1700000000000, "desc": "Highlights", "id": "0b2f2c4ad6f94c07a1d2e3f4a5b6c7d8",
            "lastmod": 1700000000000, "owner": "6e6f2d736c696365722d6f776e657231", "asset_count": 1}
_SUBOWNER = {"username": "acme.jane", "permissions": ["slice", "api"], "api_key": "b7e1c0f6d5a4...",
             "all_api_keys": {"b7e1c0f6d5a4...": {"enabled": True}}, "id": "3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f"}

# name → (summary, description, parameters, answer, example parameters, example answer without "error")
OPERATIONS: dict[str, tuple[str, str, type[Params], type[Ok], dict[str, Any], dict[str, Any]]] = {
    "asset/get": ("Get assets", "One asset by id or external_id (`asset`), or many by ids or external_ids "
                  "(`assets`); assets of libraries shared with you are readable by id.",
                  AssetGetParams, AssetResult, {"external_id": "id1234"}, {"asset": _ASSET}),
    "asset/list": ("Search assets", "Your assets matching `query` (and those of libraries shared with you in "
                   "`shared_assets`).", AssetListParams, AssetListResult,
                   {"search": "abc", "order": "-created", "limit": 3}, {"assets": [_ASSET], "shared_assets": []}),
    "asset/update": ("Update an asset", "Name, metadata, DRM flags, auto-expiry, poster, players; answers like "
                     "asset/get.", AssetUpdateParams, AssetResult,
                     {"id": "5915d84829405cb4db1bc3f71c10fc83", "desc": "New name", "meta": {"key1": "value1"}},
                     {"asset": {**_ASSET, "desc": "New name", "meta": {"key1": "value1"}}}),
    "asset/delete": ("Delete assets", "By ids and/or external_ids.", AssetDeleteParams, AssetDeleteResult,
                     {"ids": ["5915d84829405cb4db1bc3f71c10fc83"]},
                     {"deleted": [{"external_id": "id1234", "id": "5915d84829405cb4db1bc3f71c10fc83"}]}),
    "asset/changes": ("Asset changes since a time", "Changes at or after `start` (a few hundred per call); use "
                      "`end` as the next `start`.", AssetChangesParams, AssetChangesResult,
                      {"start": 1391714449648},
                      {"changes": [[1391796562910, "update", "5915d84829405cb4db1bc3f71c10fc83"]],
                       "assets": {"5915d84829405cb4db1bc3f71c10fc83": _ASSET}, "start": 1391714449648,
                       "end": 1391800857638}),
    "asset/getframe": ("One frame as PNG", "The frame at `ts` of the highest-bitrate rendition.", GetFrameParams,
                       FrameResult, {"id": "5915d84829405cb4db1bc3f71c10fc83", "ts": 91415},
                       {"img": "iVBORw0KGgo..."}),
    "asset/getthumbs": ("Every frame of a short range as PNGs", "Frames between `start` and `stop` of the "
                        "lowest-bitrate rendition.", GetThumbsParams, ThumbsResult,
                        {"id": "5915d84829405cb4db1bc3f71c10fc83", "start": "00:01:31.415"},
                        {"imgs": ["iVBORw0KGgo..."]}),
    "library/get": ("Get libraries", "`library` by id or `libraries` by ids.", LibraryGetParams, LibraryResult,
                    {"id": _LIBRARY["id"]}, {"library": _LIBRARY}),
    "library/list": ("List your libraries", "Newest first.", PagingParams, LibraryResult, {"limit": 10},
                     {"libraries": [_LIBRARY]}),
    "library/assets": ("Assets of a library", "Newest first.", LibraryAssetsParams, LibraryAssetsResult,
                       {"id": _LIBRARY["id"]}, {"assets": [_ASSET]}),
    "library/update": ("Rename a library", "Sets `desc`.", LibraryUpdateParams, LibraryResult,
                       {"id": _LIBRARY["id"], "desc": "Highlights"}, {"library": _LIBRARY}),
    "library/add": ("Add assets to a library", "Your own, not deleted assets.", LibraryMembersParams,
                    LibraryResult, {"id": _LIBRARY["id"], "asset_id": _ASSET["id"]},
                    {"library": _LIBRARY, "added": [_ASSET["id"]]}),
    "library/remove": ("Remove assets from a library", "The assets stay in your account.", LibraryMembersParams,
                       LibraryResult, {"id": _LIBRARY["id"], "asset_id": _ASSET["id"]},
                       {"library": {**_LIBRARY, "asset_count": 0}, "removed": [_ASSET["id"]]}),
    "library/create": ("Create a library", "lynkflow extension (the real service creates libraries in v4 only).",
                       LibraryDescParams, LibraryResult, {"desc": "Highlights"},
                       {"library": {**_LIBRARY, "asset_count": 0}}),
    "library/share": ("Share a library with another owner", "lynkflow extension: its assets appear in that owner's "
                      "asset/list `shared_assets`.", LibraryShareParams, LibraryResult,
                      {"id": _LIBRARY["id"], "owner": "7061727472657231706172747265723a"},
                      {"library": _LIBRARY, "shared_with": ["7061727472657231706172747265723a"]}),
    "owners/api-key/add": ("Add an API key", "A new enabled key for your account.", Params, KeyAddResult, {},
                           {"new_api_key": "f3a9...", "new_key_id": "2"}),
    "owners/api-key/toggle": ("Enable or disable an API key", "Your last enabled key cannot be disabled.",
                              KeyToggleParams, KeyToggleResult, {"key_to_toggle": "2", "is_enabled": False},
                              {"key_id": "2", "is_enabled": False}),
    "owners/api-key/delete": ("Delete an API key", "Your last enabled key cannot be deleted.", KeyDeleteParams,
                              KeyDeleteResult, {"key_to_delete": "2"}, {"deleted_key_id": "2"}),
    "cloudslicer/jobs/create": ("Create an asset from a file", "A slicer job ingesting `source.url`.",
                                JobCreateParams, JobResult,
                                {"source": {"url": "clip.mp4"}, "args": {"external_id": "id1234", "trim": "0,180000"}},
                                {"job": _JOB}),
    "cloudslicer/jobs/quickclip": ("Clip a ready asset", "A new asset of `source.trim` of `args.beam_id`.",
                                   QuickclipParams, JobResult,
                                   {"source": {"trim": [2000, 1000]}, "args": {"beam_id": _ASSET["id"]}},
                                   {"job": {**_JOB, "source": {"trim": [2000, 1000]}}}),
    "cloudslicer/jobs/get": ("Get a slicer job", "By id.", JobIdParams, JobResult, {"id": _JOB["id"]}, {"job": _JOB}),
    "cloudslicer/jobs/list": ("List slicer jobs", "Newest first.", PagingParams, JobListResult, {"limit": 10},
                              {"jobs": [_JOB]}),
    "cloudslicer/jobs/cancel": ("Cancel a slicer job", "Stops it if it runs.", JobIdParams, JobResult,
                                {"id": _JOB["id"]}, {"job": {**_JOB, "state": "cancelled", "progress": "Cancelled"}}),
    "cloudslicer/jobs/delete": ("Delete slicer jobs", "Jobs in `assigned` cannot be deleted.", JobDeleteParams,
                                JobDeleteResult, {"ids": [_JOB["id"], "1234"]},
                                {"actions": [[_JOB["id"], "deleted"], ["1234", "Not found"]]}),
    "cloudslicer/jobs/create_export": ("Export an asset as MP4", "When done, the job has `hd_exported_url`.",
                                       ExportParams, JobResult, {"asset": _ASSET["id"]},
                                       {"job": {**_JOB, "source": {}, "args": {"export_mp4": True},
                                                "asset": _ASSET["id"]}}),
    "channel/list": ("List live channels", "Always an empty `channels` list: lynkflow has no live channels "
                     "(the call is answered so that clients listing channels work).", PagingParams,
                     ChannelListResult, {"limit": 10}, {"channels": []}),
    "subowners/create": ("Create a subowner", "A limited login attached to your account.", SubownerCreateParams,
                         SubownerDoc, {"username": "acme.jane", "password": "s3cret", "permissions": ["slice", "api"]},
                         _SUBOWNER),
    "subowners/get": ("Get a subowner", "By id.", SubownerIdParams, SubownerDoc, {"id": _SUBOWNER["id"]}, _SUBOWNER),
    "subowners/list": ("List your subowners", "Every subowner of your account.", Params, SubownerListResult, {},
                       {"subowners": [_SUBOWNER]}),
    "subowners/update": ("Update a subowner", "Password, permissions, or a new key (newkey=1).",
                         SubownerUpdateParams, SubownerDoc, {"id": _SUBOWNER["id"], "permissions": "slice"},
                         {**_SUBOWNER, "permissions": ["slice"]}),
    "subowners/delete": ("Delete a subowner", "By id.", SubownerIdParams, SubownerDeleteResult,
                         {"id": _SUBOWNER["id"]}, {"id": _SUBOWNER["id"]}),
}

_PAIR = {"msg": {"type": "string", "description": "base64 of the zlib-compressed JSON parameters (with _owner "
                                                  "and _timestamp); see the api2Signature security scheme"},
         "sig": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$",
                 "description": "Hex HMAC-SHA256 of msg, keyed with your API key"}}


def api2_doc(name: str, method: str) -> dict[str, Any]:
    """`add_api_route` keyword arguments documenting `/api2/{name}` for GET or POST."""
    summary, description, params, result, example_params, example_answer = OPERATIONS[name]
    answer = {"200": {"description": "Always HTTP 200: the answer (error 0) or a refusal (error 1, msg)",
                      "content": {"application/json": {
                          "schema": {"oneOf": [openapi.ref(result), openapi.ref(Api2ErrorBody)]},
                          "examples": {"success": {"value": {**example_answer, "error": 0}},
                                       "refused": {"value": openapi.example_of(Api2ErrorBody)}}}}}}
    extra: dict[str, Any] = {"security": API2_SECURITY, "responses": answer,
                             "x-decoded-msg": {"schema": openapi.ref(params), "example": example_params}}
    if method == "GET":
        extra["parameters"] = [{"name": k, "in": "query", "required": True, "schema": v} for k, v in _PAIR.items()]
    else:
        extra["requestBody"] = {"required": True, "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "required": ["msg", "sig"], "properties": _PAIR}}}}
    full = (f"{description}\n\nThe parameters go inside `msg` (decoded schema: `x-decoded-msg`), e.g. "
            f"`{json.dumps(example_params)}`; sign it as the api2Signature scheme explains. "
            f"{'GET with msg and sig in the query string.' if method == 'GET' else 'POST msg and sig as a form.'}")
    return {"summary": summary, "description": full, "tags": [UPLYNK], "response_model": None,
            "operation_id": f"api2_{name.replace('/', '_')}_{method.lower()}",
            "openapi_extra": extra}
