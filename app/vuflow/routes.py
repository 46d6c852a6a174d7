"""Routing table of the VIS face; mounted under /api and at the root (one router, two mounts).

Each route is registered with and without its trailing slash, so `/asset/gif/` and `/asset/gif`
both answer directly (no redirect a client might not follow for a POST).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from lynkflow import __version__, jsondoc, limits
from lynkflow.context import AppContext
from lynkflow.domain import vis_assets, vis_event_queries, vis_events, vis_vuflows
from lynkflow.domain.vis_assets import AssetFilter, AssetRequest
from lynkflow.domain.vis_event_queries import EventFilter
from lynkflow.domain.vis_vuflows import is_guid
from lynkflow.vuflow import docs_routes as docs
from lynkflow.vuflow import schemas
from lynkflow.vuflow.auth import api_key
from lynkflow.vuflow.casing import CIDict, query_ci
from lynkflow.vuflow.errors import VisError, VisRoute, bad_request
from lynkflow.vuflow.render import Renderer, encodable, vuflow
from lynkflow.vuflow.times import TimeFormatError, parse_clip_time, parse_iso_ms

router = APIRouter(route_class=VisRoute)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        doc = jsondoc.loads(raw, what="The request body", long_text_fields=limits.VIS_LARGE_TEXT_FIELDS)
    except jsondoc.DocumentError as exc:
        raise bad_request(exc.message, exc.kind, **({"field": exc.field} if exc.field else {})) from None
    request.state.journal_body = doc  # the journal records this parse instead of parsing the body again
    return doc


Key = Annotated[str, Depends(api_key)]
Body = Annotated[Any, Depends(json_body)]


def route(path: str, method: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        variants = [path, path[:-1]] if path.endswith("/") else [path, path + "/"]
        for i, variant in enumerate(variants):
            router.add_api_route(variant, fn, methods=[method], include_in_schema=i == 0, **kwargs)
        return fn

    return register


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def _q_int(q: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(name.lower())
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be a whole number, got '{raw}'", "InvalidQuery", field=name) from None
    if not lo <= value <= hi:
        raise bad_request(f"{name} must be from {lo} to {hi}, got {value}", "InvalidQuery", field=name)
    return value


def _q_process_video(q: dict[str, str], default: bool) -> bool:
    """`ProcessVideo=true|false` (any case of the name); absent or blank means `default`."""
    raw = q.get("processvideo")
    if raw is None or not raw.strip():
        return default
    return _q_bool(q, "ProcessVideo")


def _q_bool(q: dict[str, str], name: str) -> bool:
    raw = (q.get(name.lower()) or "false").strip().lower()
    if raw not in ("true", "false", "1", "0", ""):
        raise bad_request(f"{name} must be true or false, got '{raw}'", "InvalidQuery", field=name)
    return raw in ("true", "1")


# --- health --------------------------------------------------------------------------------


@route("/health/", "GET", **docs.HEALTH)
def health(request: Request) -> JSONResponse:
    try:
        with _ctx(request).session() as db:
            db.execute(text("SELECT 1"))
        database = "Healthy"
    except Exception as exc:  # noqa: BLE001 - reported as unhealthy, which is the point of the route
        database = f"Unhealthy: {exc.__class__.__name__}"
    healthy = database == "Healthy"
    return JSONResponse({"status": "Healthy" if healthy else "Unhealthy", "vis": "Healthy", "vts": "Healthy",
                         "database": database}, status_code=200 if healthy else 503)


@route("/health/version", "GET", **docs.HEALTH_VERSION)
async def health_version() -> dict[str, str]:  # constant: no thread-pool hop
    return {"client": "lynkflow", "machineName": socket.gethostname(), "assemblyVersion": __version__,
            "fileVersion": __version__, "productVersion": __version__}


# --- vuflows -------------------------------------------------------------------------------


@route("/vuflow/", "GET", **docs.VUFLOW_LIST)
def vuflow_list(request: Request, key: Key) -> list[dict[str, Any]]:
    with _ctx(request).session() as db:
        return [vuflow(f) for f in vis_vuflows.list_vuflows(db, key)]


@route("/vuflow/", "POST", **docs.VUFLOW_CREATE)
def vuflow_create(request: Request, key: Key, raw: Body) -> dict[str, Any]:
    d = schemas.as_object(raw)
    name = schemas.req_str(d, "name")
    config = schemas.configuration_text(d) or "{}"
    ctx = _ctx(request)
    with ctx.session() as db:
        flow = vis_vuflows.create_vuflow(db, ctx, key, name=name, configuration_json=config,
                                        vuflow_id=schemas.opt_str(d, "id"))
        return encodable(vuflow(flow))


@route("/vuflow/{vuflow_id}", "GET", **docs.VUFLOW_GET)
def vuflow_get(request: Request, key: Key, vuflow_id: str) -> dict[str, Any]:
    with _ctx(request).session() as db:
        return vuflow(vis_vuflows.get_vuflow(db, key, vuflow_id))


@route("/vuflow/{vuflow_id}", "PUT", **docs.VUFLOW_UPDATE)
def vuflow_update(request: Request, key: Key, raw: Body, vuflow_id: str) -> dict[str, Any]:
    d = schemas.as_object(raw)
    body_id = schemas.opt_str(d, "id")
    if body_id is not None and body_id.lower() != vuflow_id.lower():
        raise bad_request(f"The body id {body_id} does not match the URL id {vuflow_id}", "IdMismatch")
    name = schemas.opt_str(d, "name")
    ctx = _ctx(request)
    with ctx.session() as db:
        flow = vis_vuflows.update_vuflow(db, ctx, key, vuflow_id, name=name,
                                        configuration_json=schemas.configuration_text(d))
        return encodable(vuflow(flow))


@route("/vuflow/{vuflow_id}", "DELETE", **docs.VUFLOW_DELETE)
def vuflow_delete(request: Request, key: Key, vuflow_id: str) -> Response:
    with _ctx(request).session() as db:
        vis_vuflows.delete_vuflow(db, key, vuflow_id)
    return Response(status_code=200)


# --- events --------------------------------------------------------------------------------


@route("/event/", "POST", **docs.EVENT_CREATE)
def event_create(request: Request, key: Key, raw: Body) -> dict[str, Any]:
    body = schemas.parse_event(raw)
    if body.media_id and body.source_path:
        raise bad_request("Send either mediaId or sourcePath, not both", "ConflictingRecordingSources")
    ctx = _ctx(request)
    with ctx.session() as db:
        f = body.fields
        event = vis_events.create_event(
            db, ctx, key, event_id=body.event_id, title=f.get("title") or "", description=f.get("description") or "",
            content_id=f.get("content_id"), external_id=f.get("external_id"), ref_id=f.get("ref_id"),
            vuflow_id=f.get("vuflow_id"), extra=body.extra)
        if body.media_id:
            vis_events.attach_ingested_media(db, ctx, event, body.media_id)
        elif body.source_path:
            _start_ingest(db, ctx, key, event, body.source_path)
        db.flush()
        return encodable(Renderer(db, request).event(event))


def _start_ingest(db: Any, ctx: AppContext, key: str, event: Any, source_path: str) -> None:
    from lynkflow.domain.ingest import start_ingest
    from lynkflow.domain.media import MediaSourceError, create_media_from_file, resolve_allowed_source

    try:
        path = resolve_allowed_source(ctx, source_path)
        media = create_media_from_file(ctx, db, path)
    except MediaSourceError as exc:
        raise bad_request(str(exc), "InvalidSourcePath", sourcePath=source_path) from None
    start_ingest(ctx, db, media, vis={"api_key": key, "event_id": event.id, "vuflow_id": event.vuflow_id,
                                      "title": event.title})


@route("/event/", "GET", **docs.EVENT_LIST)
def event_list(request: Request, key: Key) -> dict[str, Any]:
    return _event_page(request, key, _event_filter(query_ci(request.query_params)), deleted=False)


@route("/event/deleted/", "GET", **docs.EVENT_LIST_DELETED)
def event_list_deleted(request: Request, key: Key) -> dict[str, Any]:
    return _event_page(request, key, _event_filter(query_ci(request.query_params)), deleted=True)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _q_time(q: dict[str, str], name: str) -> int | None:
    """Epoch ms of an ISO 8601 query value: a date-time with a zone, or a bare date (UTC midnight)."""
    raw = (q.get(name.lower()) or "").strip()
    if not raw:
        return None
    text = raw + "T00:00:00Z" if _DATE_ONLY.match(raw) else raw
    try:
        return parse_iso_ms(text)
    except TimeFormatError:
        raise bad_request(f"{name} must be an ISO 8601 date-time with a zone (2024-05-01T12:00:00Z) or a date "
                          f"(2024-05-01), got '{raw}'", "InvalidQuery", field=name) from None


def _q_guid(q: dict[str, str], name: str) -> str | None:
    raw = (q.get(name.lower()) or "").strip()
    if not raw:
        return None
    if not is_guid(raw):
        raise bad_request(f"{name} must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), got '{raw}'",
                          "InvalidQuery", field=name)
    return raw


def _event_filter(q: dict[str, str]) -> EventFilter:
    f = EventFilter(from_ms=_q_time(q, "from"), to_ms=_q_time(q, "to"), channel_id=_q_guid(q, "channel"),
                    event_type_id=_q_guid(q, "eventType"), category_id=_q_guid(q, "category"))
    if f.from_ms is not None and f.to_ms is not None and f.from_ms > f.to_ms:
        raise bad_request("from must not be later than to", "InvalidQuery", field="from")
    raw_tags = q.get("tags")
    if raw_tags is not None and raw_tags.strip():
        f.tags = [t.strip() for t in raw_tags.split(",") if t.strip()]
        if not f.tags:
            raise bad_request(f"tags must be a comma-separated list of tags, got '{raw_tags}'", "InvalidQuery",
                              field="tags")
    return f


def _event_page(request: Request, key: str, f: EventFilter, *, deleted: bool = False) -> dict[str, Any]:
    q = query_ci(request.query_params)
    page_size = _q_int(q, "pageSize", 25, 1, 1000)
    page_number = _q_int(q, "pageNumber", 1, 1, 1_000_000)
    order = (q.get("order") or "DESC").strip().upper()
    if order not in ("ASC", "DESC"):
        raise bad_request(f"order must be ASC or DESC, got '{order}'", "InvalidQuery", field="order")
    # Lists leave `video` null unless asked: filling it costs one batched media query per page.
    process_video = _q_process_video(q, default=False)
    with _ctx(request).session() as db:
        page = vis_event_queries.find_events(db, key, f, deleted=deleted, page_number=page_number,
                                             page_size=page_size, ascending=order == "ASC")
        r = Renderer(db, request, process_video=process_video)
        r.prefetch_media(page.results)
        return {"results": [r.event(e) for e in page.results], "totalCount": page.total,
                "pageSize": page.page_size}


def _q_required(request: Request, name: str) -> str:
    value = query_ci(request.query_params).get(name.lower())
    if value is None or not value.strip():
        raise bad_request(f"The {name} query parameter is required: ?{name}=...", "MissingField", field=name)
    return value


# Literal /event/... paths are registered before /event/{event_id}, which would otherwise capture them.


@route("/event/reference/", "GET", **docs.EVENT_BY_REFERENCE)
def event_by_reference(request: Request, key: Key) -> dict[str, Any]:
    return _event_page(request, key, EventFilter(ref_id=_q_required(request, "refId")))


@route("/event/external/", "GET", **docs.EVENT_BY_EXTERNAL)
def event_by_external(request: Request, key: Key) -> dict[str, Any]:
    return _event_page(request, key, EventFilter(external_id=_q_required(request, "externalId")))


@route("/event/reference/unique/", "GET", **docs.EVENT_REFERENCE_UNIQUE)
def event_reference_unique(request: Request, key: Key) -> bool:
    ref_id = _q_required(request, "refId")
    with _ctx(request).session() as db:
        return vis_event_queries.is_unused(db, key, ref_id=ref_id)


@route("/event/external/unique/", "GET", **docs.EVENT_EXTERNAL_UNIQUE)
def event_external_unique(request: Request, key: Key) -> bool:
    external_id = _q_required(request, "externalId")
    with _ctx(request).session() as db:
        return vis_event_queries.is_unused(db, key, external_id=external_id)


@route("/event/reference/{reference_id}", "PATCH", **docs.EVENT_UPDATE_BY_REFERENCE)
def event_update_by_reference(request: Request, key: Key, raw: Body, reference_id: str) -> dict[str, Any]:
    with _ctx(request).session() as db:
        event_id = vis_event_queries.event_id_by_ref(db, key, reference_id)
    return _patch_event(request, key, raw, event_id)


@route("/event/clone/{event_id}", "GET", **docs.EVENT_CLONE)
def event_clone(request: Request, key: Key, event_id: str) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.session() as db:
        clone = vis_event_queries.clone_event(db, ctx, key, event_id)
        return encodable(Renderer(db, request).event(clone))


@route("/event/forcestop/{event_id}", "PUT", **docs.EVENT_FORCE_STOP)
def event_force_stop(request: Request, key: Key, event_id: str) -> dict[str, Any]:
    with _ctx(request).session() as db:
        vis_event_queries.force_stop(db, key, event_id)


@route("/event/restore/{event_id}", "GET", **docs.EVENT_RESTORE)
def event_restore(request: Request, key: Key, event_id: str) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.session() as db:
        return encodable(Renderer(db, request).event(vis_events.restore_event(db, ctx, key, event_id)))


@route("/event/state/{event_id}", "PUT", **docs.EVENT_STATE)
def event_state(request: Request, key: Key, raw: Body, event_id: str) -> dict[str, Any]:
    value = CIDict(raw).get("state") if isinstance(raw, dict) else raw
    if value is None:
        raise bad_request("Send the new state, e.g. {\"state\": \"VOD_PUBLIC\"}", "MissingField", field="state")
    state = vis_events.state_number(value)
    ctx = _ctx(request)
    with ctx.session() as db:
        return encodable(Renderer(db, request).event(vis_events.set_state(db, ctx, key, event_id, state)))


@route("/event/{event_id}", "GET", **docs.EVENT_GET)
def event_get(request: Request, key: Key, event_id: str) -> dict[str, Any]:
    # One event: `video` is filled by default (ProcessVideo=false turns it off). StreamSource is accepted
    # and ignored: lynkflow serves every URL itself (streamSource ORIGIN).
    process_video = _q_process_video(query_ci(request.query_params), default=True)
    with _ctx(request).session() as db:
        return Renderer(db, request, process_video=process_video).event(vis_events.get_event(db, key, event_id))


@route("/event/{event_id}", "PATCH", **docs.EVENT_UPDATE)
def event_update(request: Request, key: Key, raw: Body, event_id: str) -> dict[str, Any]:
    return _patch_event(request, key, raw, event_id)


def _patch_event(request: Request, key: str, raw: Any, event_id: str) -> dict[str, Any]:
    body = schemas.parse_event(raw)
    if body.event_id is not None and body.event_id.lower() != event_id.lower():
        raise bad_request(f"The body id {body.event_id} does not match the URL id {event_id}", "IdMismatch")
    if body.media_id and body.source_path:
        raise bad_request("Send either mediaId or sourcePath, not both", "ConflictingRecordingSources")
    ctx = _ctx(request)
    with ctx.session() as db:
        event = vis_events.update_event(db, ctx, key, event_id, body.fields, body.extra)
        if body.media_id or body.source_path:
            if event.state == vis_events.VOD_INGESTING:
                raise VisError(409, f"Event {event_id} is already ingesting a recording; wait for it to finish",
                               "EventIngesting")
            if body.media_id:
                vis_events.attach_ingested_media(db, ctx, event, body.media_id)
            else:
                _start_ingest(db, ctx, key, event, body.source_path or "")
        db.flush()
        return encodable(Renderer(db, request).event(event))


@route("/event/{event_id}", "DELETE", **docs.EVENT_DELETE)
def event_delete(request: Request, key: Key, event_id: str) -> Response:
    hard = _q_bool(query_ci(request.query_params), "hardDelete")
    ctx = _ctx(request)
    with ctx.session() as db:
        vis_events.delete_event(db, ctx, key, event_id, hard=hard)
    return Response(status_code=200)


# --- assets --------------------------------------------------------------------------------


def _create_asset(request: Request, key: str, parsed: schemas.ParsedAsset) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.session() as db:
        event = vis_events.get_event(db, key, parsed.event_id)
        rec = vis_events.recording_of(db, ctx, event)
        try:
            start = parse_clip_time(parsed.start, rec.start_ms)
            end = parse_clip_time(parsed.end, rec.start_ms) if parsed.end is not None else None
        except TimeFormatError as exc:
            raise bad_request(str(exc), "InvalidTime") from None
        req = AssetRequest(type=parsed.type, name=parsed.name, filename=parsed.filename,
                           priority=parsed.priority, start=start, end=end, params=parsed.params)
        asset = vis_assets.request_asset(db, ctx, event, rec, req)
        return encodable(Renderer(db, request).asset(asset))


@route("/asset/gif/", "POST", **docs.ASSET_GIF)
def asset_gif(request: Request, key: Key, raw: Body) -> dict[str, Any]:
    return _create_asset(request, key, schemas.parse_gif(raw))


@route("/asset/video/", "POST", **docs.ASSET_VIDEO)
def asset_video(request: Request, key: Key, raw: Body) -> dict[str, Any]:
    return _create_asset(request, key, schemas.parse_video(raw))


@route("/asset/image/", "POST", **docs.ASSET_IMAGE)
def asset_image(request: Request, key: Key, raw: Body) -> dict[str, Any]:
    return _create_asset(request, key, schemas.parse_image(raw))


@route("/asset/sync/{event_id}", "PUT", **docs.ASSET_SYNC)
def asset_sync(request: Request, key: Key, event_id: str) -> dict[str, Any]:
    ctx = _ctx(request)
    with ctx.session() as db:
        result = vis_assets.sync_event(db, ctx, key, event_id)
    return {"hasVodFileChanged": result.has_vod_file_changed, "createdAssetsCount": result.created,
            "deletedAssetsCount": result.deleted, "pathEvaluated": result.path_evaluated}


def _asset_filter(q: dict[str, str], *, with_extensions: bool) -> AssetFilter:
    def text_of(name: str) -> str | None:
        value = q.get(name.lower())
        return value if value not in (None, "") else None

    f = AssetFilter(event_id=text_of("eventId"), content_id=text_of("contentId"), job_id=text_of("jobId"),
                    name=text_of("name"))
    if text_of("states") is not None:
        f.states = vis_assets.parse_enum_list(q["states"], vis_assets.ASSET_STATES, "state")
    if text_of("types") is not None:
        f.types = vis_assets.parse_enum_list(q["types"], vis_assets.ASSET_TYPES, "type")
    if with_extensions and text_of("extensions") is not None:
        f.extensions = [e.strip() for e in q["extensions"].split(",") if e.strip()] or None
    return f


@route("/asset/", "GET", **docs.ASSET_LIST)
def asset_list(request: Request, key: Key) -> list[dict[str, Any]]:
    q = query_ci(request.query_params)
    f = _asset_filter(q, with_extensions=True)
    page_index = _q_int(q, "pageIndex", 0, 0, 10_000_000)
    _q_bool(q, "noCache")  # accepted: lynkflow has no cache to bypass
    with _ctx(request).session() as db:
        return Renderer(db, request).assets(vis_assets.list_assets(db, key, f, page_index))


@route("/asset/", "DELETE", **docs.ASSET_DELETE_MANY)
def asset_delete_many(request: Request, key: Key) -> Response:
    f = _asset_filter(query_ci(request.query_params), with_extensions=False)
    ctx = _ctx(request)
    with ctx.session() as db:
        vis_assets.delete_assets(db, ctx, key, f)
    return Response(status_code=200)


@route("/asset/{asset_id}/", "GET", **docs.ASSET_GET)
def asset_get(request: Request, key: Key, asset_id: str) -> dict[str, Any]:
    _q_bool(query_ci(request.query_params), "noCache")
    with _ctx(request).session() as db:
        return Renderer(db, request).asset(vis_assets.get_asset(db, key, asset_id))


@route("/asset/{asset_id}/", "PUT", **docs.ASSET_RENAME)
def asset_rename(request: Request, key: Key, asset_id: str) -> dict[str, Any]:
    name = (query_ci(request.query_params).get("name") or "").strip()
    if not name:
        raise VisError(400, "The Name query parameter is required: PUT /asset/{id}/?Name=new name",
                       "MissingField", {"field": "Name"})
    if len(name) > limits.MAX_NAME_CHARS:
        raise bad_request(f"Name is {len(name)} characters long; it may hold at most {limits.MAX_NAME_CHARS}",
                          "TextTooLong", field="Name")
    ctx = _ctx(request)
    with ctx.session() as db:
        return encodable(Renderer(db, request).asset(vis_assets.rename_asset(db, ctx, key, asset_id, name)))


@route("/asset/{asset_id}", "DELETE", **docs.ASSET_DELETE)
def asset_delete(request: Request, key: Key, asset_id: str) -> Response:
    ctx = _ctx(request)
    with ctx.session() as db:
        vis_assets.delete_asset(db, ctx, key, asset_id)
    return Response(status_code=200)
