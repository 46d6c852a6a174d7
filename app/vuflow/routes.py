"""Routing table of the VIS face; mounted under /api and at the root (one router, two mounts).

Each route is registered with and without its trailing slash, so `/asset/gif/` and `/asset/gif`
both answer directly (no redirect a client might not follow for a POST). A handler parses with
vuflow/params.py, calls the domain with a session and renders with vuflow/render.py.

Sessions: a write route takes `WriteDb` (db/deps.py). The plain reads are `direct` endpoints
(vuflow/errors.py): FastAPI calls them with the request alone, and they check the key
(`api_key`), parse the query and run their queries, rendering and JSON encoding in one thread-pool
hop with a read session (`db.deps.run_read`), in that order, as the dependencies did.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

from lynkflow import __version__
from lynkflow.context import AppContext
from lynkflow.db.deps import WriteDb, run_read
from lynkflow.db.models import Media
from lynkflow.domain import vis_assets, vis_event_queries, vis_events, vis_vuflows
from lynkflow.domain.vis_assets import AssetRequest
from lynkflow.domain.vis_event_queries import EventFilter
from lynkflow.kept_answers import kept_answers
from lynkflow.shared import VIS_ROW
from lynkflow.vuflow import docs_routes as docs
from lynkflow.vuflow import params, schemas
from lynkflow.vuflow.auth import api_key
from lynkflow.vuflow.casing import CIDict
from lynkflow.vuflow.errors import VisError, VisRoute, bad_request, direct
from lynkflow.vuflow.render import (
    Renderer,
    json_array_response,
    json_page_response,
    json_response,
    json_text_response,
    vuflow,
)
from lynkflow.vuflow.times import TimeFormatError, parse_clip_time

router = APIRouter(route_class=VisRoute)


Key = Annotated[str, Depends(api_key)]
Body = Annotated[Any, Depends(params.json_body)]


def route(path: str, method: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        variants = [path, path[:-1]] if path.endswith("/") else [path, path + "/"]
        for i, variant in enumerate(variants):
            router.add_api_route(variant, fn, methods=[method], include_in_schema=i == 0, **kwargs)
        return fn

    return register


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def _what(request: Request, key: str) -> tuple[Any, ...]:
    """What a VIS list depends on beyond its rows (kept_answers.py): path, query, API key, URL base."""
    scope = request.scope
    return scope["path"], scope["query_string"], key, _ctx(request).base_for(request)


async def _read(request: Request, render: Callable[[Session], Any]) -> Response:
    """A GET's answer: its queries, rendering and JSON encoding in one thread-pool hop, which also
    ends the read transaction (db/deps.py, run_read).

    The handler itself is async (a sync handler hops to the pool), and checks the key and parses the
    query on the event loop, which costs less than a hop.
    """
    return await run_read(request, lambda db: json_response(render(db)))


# --- the hot reads ----------------------------------------------------------------------------
# First in the table: routes match in order, and each route tried before the right one costs every call.
# Neither path can capture another route's request (/event/{event_id} and /asset/{asset_id}/ need an id),
# and each path keeps its methods' order: the first route of a path names the methods of its 405 answer.


@route("/asset/", "GET", **docs.ASSET_LIST)
@direct
async def asset_list(request: Request) -> Response:
    key = await api_key(request)
    q = params.query(request)
    f = params.asset_filter(q, with_extensions=True)
    page_index = params.q_int(q, "pageIndex", 0, 0, 10_000_000)
    params.q_bool(q, "noCache")  # accepted: lynkflow's remembered answers are never stale (kept_answers.py)
    return await kept_answers(_ctx(request)).answer(VIS_ROW, _what(request, key), lambda: run_read(
        request, lambda db: json_array_response(Renderer(db, request).asset_rows_json(
            vis_assets.list_assets(db, key, f, page_index)))))


@route("/event/", "POST", **docs.EVENT_CREATE)
def event_create(request: Request, db: WriteDb, key: Key, raw: Body) -> Response:
    body = schemas.parse_event(raw)
    if body.media_id and body.source_path:
        raise bad_request("Send either mediaId or sourcePath, not both", "ConflictingRecordingSources")
    ctx = _ctx(request)
    f = body.fields
    media = _copy_source(db, ctx, body.source_path) if body.source_path else None
    with _drop_copy_on_error(ctx, media):
        event = vis_events.create_event(
            db, ctx, key, event_id=body.event_id, title=f.get("title") or "", description=f.get("description") or "",
            content_id=f.get("content_id"), external_id=f.get("external_id"), ref_id=f.get("ref_id"),
            vuflow_id=f.get("vuflow_id"), extra=body.extra)
        if body.media_id:
            vis_events.attach_ingested_media(db, ctx, event, body.media_id)
        elif media is not None:
            _start_ingest(db, ctx, key, event, media)
        db.flush()
    return json_response(Renderer(db, request).event(event))


@route("/event/", "GET", **docs.EVENT_LIST)
@direct
async def event_list(request: Request) -> Response:
    key = await api_key(request)
    q = params.query(request)
    return await _event_page(request, q, key, params.event_filter(q), deleted=False)


# --- health --------------------------------------------------------------------------------


@route("/health/", "GET", **docs.HEALTH)
def health(request: Request) -> JSONResponse:
    # Not a ReadDb dependency: a database that cannot be reached is this route's answer, not an error.
    try:
        with _ctx(request).read_session() as db:
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
@direct
async def vuflow_list(request: Request) -> Response:
    key = await api_key(request)
    return await _read(request, lambda db: [vuflow(f) for f in vis_vuflows.list_vuflows(db, key)])


@route("/vuflow/", "POST", **docs.VUFLOW_CREATE)
def vuflow_create(request: Request, db: WriteDb, key: Key, raw: Body) -> Response:
    d = schemas.as_object(raw)
    name = schemas.req_str(d, "name")
    config = schemas.configuration_text(d) or "{}"
    flow = vis_vuflows.create_vuflow(db, _ctx(request), key, name=name, configuration_json=config,
                                    vuflow_id=schemas.opt_str(d, "id"))
    return json_response(vuflow(flow))


@route("/vuflow/{vuflow_id}", "GET", **docs.VUFLOW_GET)
@direct
async def vuflow_get(request: Request, vuflow_id: str) -> Response:
    key = await api_key(request)
    return await _read(request, lambda db: vuflow(vis_vuflows.get_vuflow(db, key, vuflow_id)))


@route("/vuflow/{vuflow_id}", "PUT", **docs.VUFLOW_UPDATE)
def vuflow_update(request: Request, db: WriteDb, key: Key, raw: Body, vuflow_id: str) -> Response:
    d = schemas.as_object(raw)
    body_id = schemas.opt_str(d, "id")
    if body_id is not None and body_id.lower() != vuflow_id.lower():
        raise bad_request(f"The body id {body_id} does not match the URL id {vuflow_id}", "IdMismatch")
    name = schemas.opt_str(d, "name")
    flow = vis_vuflows.update_vuflow(db, _ctx(request), key, vuflow_id, name=name,
                                    configuration_json=schemas.configuration_text(d))
    return json_response(vuflow(flow))


@route("/vuflow/{vuflow_id}", "DELETE", **docs.VUFLOW_DELETE)
def vuflow_delete(db: WriteDb, key: Key, vuflow_id: str) -> Response:
    vis_vuflows.delete_vuflow(db, key, vuflow_id)
    return Response(status_code=200)


# --- events --------------------------------------------------------------------------------


def _copy_source(db: Session, ctx: AppContext, source_path: str) -> Media:
    """Copy a `sourcePath` recording into storage before the route's first statement.

    The write session starts its transaction (on SQLite, the write lock) at its first statement; a
    recording can be gigabytes, and its copy must not hold every other writer back. The Media row is
    only added to the session here: it is written with the event, or not at all.
    """
    from lynkflow.domain.media import MediaSourceError, create_media_from_file, resolve_allowed_source

    try:
        return create_media_from_file(db, ctx, resolve_allowed_source(ctx, source_path))
    except MediaSourceError as exc:
        raise bad_request(str(exc), "InvalidSourcePath", sourcePath=source_path) from None


@contextmanager
def _drop_copy_on_error(ctx: AppContext, media: Media | None) -> Iterator[None]:
    """A request refused after its recording was copied leaves no file behind."""
    try:
        yield
    except BaseException:
        if media is not None:
            from lynkflow.domain.media import remove_media_files

            remove_media_files(ctx, media)
        raise


def _start_ingest(db: Session, ctx: AppContext, key: str, event: Any, media: Media) -> None:
    from lynkflow.domain.ingest import start_ingest

    start_ingest(db, ctx, media, vis={"api_key": key, "event_id": event.id, "vuflow_id": event.vuflow_id,
                                      "title": event.title})


@route("/event/deleted/", "GET", **docs.EVENT_LIST_DELETED)
@direct
async def event_list_deleted(request: Request) -> Response:
    key = await api_key(request)
    q = params.query(request)
    return await _event_page(request, q, key, params.event_filter(q), deleted=True)


async def _event_page(request: Request, q: dict[str, str], key: str, f: EventFilter, *,
                      deleted: bool = False) -> Response:
    page_size = params.q_int(q, "pageSize", 25, 1, 1000)
    page_number = params.q_int(q, "pageNumber", 1, 1, 1_000_000)
    ascending = params.q_order_ascending(q)
    # Lists leave `video` null unless asked: filling it costs one batched media query per page.
    process_video = params.q_process_video(q, default=False)

    def render(db: Session) -> Response:
        page = vis_event_queries.find_events(db, key, f, deleted=deleted, page_number=page_number,
                                             page_size=page_size, ascending=ascending)
        return json_page_response(Renderer(db, request, process_video=process_video).events_json(page.results),
                                  page.total, page.page_size)

    return await kept_answers(_ctx(request)).answer(VIS_ROW, _what(request, key), lambda: run_read(request, render))


# Literal /event/... paths are registered before /event/{event_id}, which would otherwise capture them.


@route("/event/reference/", "GET", **docs.EVENT_BY_REFERENCE)
@direct
async def event_by_reference(request: Request) -> Response:
    key = await api_key(request)
    q = params.query(request)
    return await _event_page(request, q, key, EventFilter(ref_id=params.q_required(q, "refId")))


@route("/event/external/", "GET", **docs.EVENT_BY_EXTERNAL)
@direct
async def event_by_external(request: Request) -> Response:
    key = await api_key(request)
    q = params.query(request)
    return await _event_page(request, q, key, EventFilter(external_id=params.q_required(q, "externalId")))


@route("/event/reference/unique/", "GET", **docs.EVENT_REFERENCE_UNIQUE)
@direct
async def event_reference_unique(request: Request) -> Response:
    key = await api_key(request)
    ref_id = params.q_required(params.query(request), "refId")
    return await _read(request, lambda db: vis_event_queries.is_unused(db, key, ref_id=ref_id))


@route("/event/external/unique/", "GET", **docs.EVENT_EXTERNAL_UNIQUE)
@direct
async def event_external_unique(request: Request) -> Response:
    key = await api_key(request)
    external_id = params.q_required(params.query(request), "externalId")
    return await _read(request, lambda db: vis_event_queries.is_unused(db, key, external_id=external_id))


@route("/event/reference/{reference_id}", "PATCH", **docs.EVENT_UPDATE_BY_REFERENCE)
def event_update_by_reference(request: Request, db: WriteDb, key: Key, raw: Body,
                              reference_id: str) -> dict[str, Any]:
    event_id = vis_event_queries.event_id_by_ref(db, key, reference_id)
    return _patch_event(request, db, key, raw, event_id)


# A GET that writes (the VIS documents it so): it takes a write session.
@route("/event/clone/{event_id}", "GET", **docs.EVENT_CLONE)
def event_clone(request: Request, db: WriteDb, key: Key, event_id: str) -> Response:
    clone = vis_event_queries.clone_event(db, _ctx(request), key, event_id)
    return json_response(Renderer(db, request).event(clone))


@route("/event/forcestop/{event_id}", "PUT", **docs.EVENT_FORCE_STOP)
def event_force_stop(db: WriteDb, key: Key, event_id: str) -> None:
    vis_event_queries.force_stop(db, key, event_id)


# A GET that writes (the VIS documents it so): it takes a write session.
@route("/event/restore/{event_id}", "GET", **docs.EVENT_RESTORE)
def event_restore(request: Request, db: WriteDb, key: Key, event_id: str) -> Response:
    return json_response(Renderer(db, request).event(vis_events.restore_event(db, _ctx(request), key, event_id)))


@route("/event/state/{event_id}", "PUT", **docs.EVENT_STATE)
def event_state(request: Request, db: WriteDb, key: Key, raw: Body, event_id: str) -> Response:
    value = CIDict(raw).get("state") if isinstance(raw, dict) else raw
    if value is None:
        raise bad_request("Send the new state, e.g. {\"state\": \"VOD_PUBLIC\"}", "MissingField", field="state")
    state = vis_events.state_number(value)
    return json_response(Renderer(db, request).event(vis_events.set_state(db, _ctx(request), key, event_id, state)))


@route("/event/{event_id}", "GET", **docs.EVENT_GET)
@direct
async def event_get(request: Request, event_id: str) -> Response:
    key = await api_key(request)
    # One event: `video` is filled by default (ProcessVideo=false turns it off). StreamSource is accepted
    # and ignored: lynkflow serves every URL itself (streamSource ORIGIN).
    process_video = params.q_process_video(params.query(request), default=True)

    def render(db: Session) -> Response:
        row = vis_event_queries.event_row(db, key, event_id)
        return json_text_response(Renderer(db, request, process_video=process_video).events_json([row])[0])

    return await run_read(request, render)


@route("/event/{event_id}", "PATCH", **docs.EVENT_UPDATE)
def event_update(request: Request, db: WriteDb, key: Key, raw: Body, event_id: str) -> Response:
    return _patch_event(request, db, key, raw, event_id)


def _patch_event(request: Request, db: Session, key: str, raw: Any, event_id: str) -> Response:
    body = schemas.parse_event(raw)
    if body.event_id is not None and body.event_id.lower() != event_id.lower():
        raise bad_request(f"The body id {body.event_id} does not match the URL id {event_id}", "IdMismatch")
    if body.media_id and body.source_path:
        raise bad_request("Send either mediaId or sourcePath, not both", "ConflictingRecordingSources")
    ctx = _ctx(request)
    media = _copy_source(db, ctx, body.source_path) if body.source_path else None
    with _drop_copy_on_error(ctx, media):
        event = vis_events.update_event(db, ctx, key, event_id, body.fields, body.extra)
        if body.media_id or media is not None:
            if event.state == vis_events.VOD_INGESTING:
                raise VisError(409, f"Event {event_id} is already ingesting a recording; wait for it to finish",
                               "EventIngesting")
            if body.media_id:
                vis_events.attach_ingested_media(db, ctx, event, body.media_id)
            else:
                assert media is not None
                _start_ingest(db, ctx, key, event, media)
        db.flush()
    return json_response(Renderer(db, request).event(event))


@route("/event/{event_id}", "DELETE", **docs.EVENT_DELETE)
def event_delete(request: Request, db: WriteDb, key: Key, event_id: str) -> Response:
    hard = params.q_bool(params.query(request), "hardDelete")
    vis_events.delete_event(db, _ctx(request), key, event_id, hard=hard)
    return Response(status_code=200)


# --- assets --------------------------------------------------------------------------------


def _create_asset(request: Request, db: Session, key: str, parsed: schemas.ParsedAsset) -> Response:
    ctx = _ctx(request)
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
    return json_response(Renderer(db, request).asset(asset))


@route("/asset/gif/", "POST", **docs.ASSET_GIF)
def asset_gif(request: Request, db: WriteDb, key: Key, raw: Body) -> Response:
    return _create_asset(request, db, key, schemas.parse_gif(raw))


@route("/asset/video/", "POST", **docs.ASSET_VIDEO)
def asset_video(request: Request, db: WriteDb, key: Key, raw: Body) -> Response:
    return _create_asset(request, db, key, schemas.parse_video(raw))


@route("/asset/image/", "POST", **docs.ASSET_IMAGE)
def asset_image(request: Request, db: WriteDb, key: Key, raw: Body) -> Response:
    return _create_asset(request, db, key, schemas.parse_image(raw))


@route("/asset/sync/{event_id}", "PUT", **docs.ASSET_SYNC)
def asset_sync(request: Request, db: WriteDb, key: Key, event_id: str) -> Response:
    result = vis_assets.sync_event(db, _ctx(request), key, event_id)
    return json_response({"hasVodFileChanged": result.has_vod_file_changed, "createdAssetsCount": result.created,
                          "deletedAssetsCount": result.deleted, "pathEvaluated": result.path_evaluated})


@route("/asset/", "DELETE", **docs.ASSET_DELETE_MANY)
def asset_delete_many(request: Request, db: WriteDb, key: Key) -> Response:
    f = params.asset_filter(params.query(request), with_extensions=False)
    vis_assets.delete_assets(db, _ctx(request), key, f)
    return Response(status_code=200)


@route("/asset/{asset_id}/", "GET", **docs.ASSET_GET)
@direct
async def asset_get(request: Request, asset_id: str) -> Response:
    key = await api_key(request)
    params.q_bool(params.query(request), "noCache")
    return await run_read(request, lambda db: json_text_response(Renderer(db, request).asset_rows_json(
        [vis_assets.asset_row(db, key, asset_id)])[0]))


@route("/asset/{asset_id}/", "PUT", **docs.ASSET_RENAME)
def asset_rename(request: Request, db: WriteDb, key: Key, asset_id: str) -> Response:
    name = params.asset_name(params.query(request))
    return json_response(Renderer(db, request).asset(vis_assets.rename_asset(db, _ctx(request), key, asset_id, name)))


@route("/asset/{asset_id}", "DELETE", **docs.ASSET_DELETE)
def asset_delete(request: Request, db: WriteDb, key: Key, asset_id: str) -> Response:
    vis_assets.delete_asset(db, _ctx(request), key, asset_id)
    return Response(status_code=200)
