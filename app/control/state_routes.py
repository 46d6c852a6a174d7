"""Control routes for state: reset (all / one Uplynk owner / one VIS key), seed, reseed, snapshots."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.control import docs_models as docs
from lynkflow.control.errors import ControlError, ControlRoute, request_object
from lynkflow.control.journal import get_journal
from lynkflow.domain import reset as resets
from lynkflow.domain import snapshot
from lynkflow.fixtures import FIXTURES_DIR
from lynkflow.seeding import SEED_FORMAT, SeedError, apply_seed, load_seed_file
from lynkflow.storage.paths import UnsafePath, safe_join
from lynkflow.uplynk import signing_keys

router = APIRouter(route_class=ControlRoute)

MAX_SNAPSHOT_UPLOAD = 16 * 1024**3
RESET_USAGE = ("send {} (everything), {\"owner\": \"<uplynk owner id>\"} or {\"visKey\": \"<VIS API key>\"} "
               "as the request body")
SEED_USAGE = ("send a seed document ({\"format\": 1, ...}) or {\"path\": \"<seed file in the data dir or "
              "fixtures/>\"} as the request body")


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def reset_controls(ctx: AppContext) -> None:
    """After `reset_everything`: running clock, no faults, empty journal, `real` lifecycles.

    The wipe removed the shared documents, fault rules, replay memory and journal, and bumped the
    shared version, so one refresh brings every process back to real time, no faults and `real`
    lifecycles.
    """
    ctx.shared.refresh()
    get_journal(ctx).clear()  # also drops what this process had not written yet
    drop_caches(ctx)


def drop_caches(ctx: AppContext) -> None:
    """After a reset of any scope: every process drops its cached API keys (a new key generation is
    published), and this process every cache it holds."""
    signing_keys.forget(ctx)
    ctx.caches.reset()


@router.post("/reset", **docs.RESET)
async def reset(request: Request) -> dict[str, Any]:
    """`{}`: everything (data and controls); `{"owner": id}` or `{"visKey": key}`: that one's data."""
    ctx = _ctx(request)
    body = await request_object(request, RESET_USAGE, allow_empty=True)
    owner, vis_key = body.get("owner"), body.get("visKey")
    unknown = sorted(set(body) - {"owner", "visKey"})
    if unknown:
        raise ControlError(400, f"unknown reset field(s) {', '.join(unknown)}; send {{}} (everything), "
                                "{\"owner\": \"<uplynk owner id>\"} or {\"visKey\": \"<VIS API key>\"}")
    if owner is not None and vis_key is not None:
        raise ControlError(400, "reset one thing at a time: owner or visKey, not both")
    try:
        if owner is not None:
            if not isinstance(owner, str):
                raise ControlError(400, "owner must be a string")
            counts = await run_in_threadpool(resets.reset_uplynk_owner, ctx, owner)
            await run_in_threadpool(drop_caches, ctx)  # its subowners' keys are gone, in every process
            return {"reset": "owner", "owner": owner.strip().lower(), "removed": counts}
        if vis_key is not None:
            if not isinstance(vis_key, str):
                raise ControlError(400, "visKey must be a string")
            counts = await run_in_threadpool(resets.reset_vis_key, ctx, vis_key)
            await run_in_threadpool(drop_caches, ctx)
            return {"reset": "visKey", "visKey": vis_key, "removed": counts}
    except resets.ResetError as exc:
        raise ControlError(404, str(exc)) from None
    await run_in_threadpool(resets.reset_everything, ctx)
    await run_in_threadpool(reset_controls, ctx)
    return {"reset": "everything"}


def _seed_from_body(ctx: AppContext, body: dict[str, Any]) -> dict[str, Any]:
    if "path" in body and "format" not in body:
        path = body["path"]
        if not isinstance(path, str):
            raise ControlError(400, "path must be a string")
        found = None
        for base in (ctx.storage.root, FIXTURES_DIR):
            try:
                candidate = safe_join(base, path)
            except UnsafePath as exc:
                raise ControlError(400, f"seed path {path!r} is not allowed: {exc}") from None
            if candidate.is_file():
                found = candidate
                break
        if found is None:
            raise ControlError(404, f"seed file {path!r} not found in the data dir or the fixtures folder")
        try:
            doc = load_seed_file(found)
        except SeedError as exc:
            raise ControlError(400, str(exc)) from None
        base_dir = found.parent
    else:
        if body.get("format") != SEED_FORMAT:
            raise ControlError(400, f"send a seed document with \"format\": {SEED_FORMAT}, "
                                    "or {\"path\": \"<seed file in the data dir or fixtures/>\"}")
        doc = dict(body)
        base_dir = ctx.settings.resolved_media_dir
        doc["_base_dir"] = str(base_dir)
    _check_media(doc, base_dir)
    return doc


def _check_media(doc: dict[str, Any], base_dir: Path) -> None:
    """Refuse media items that would read outside their folder, before anything is written."""
    from lynkflow.fixtures.synth import STANDARD_CLIPS

    media = doc.get("media", [])
    if not isinstance(media, list):
        raise ControlError(400, "seed \"media\" must be a list")
    for i, item in enumerate(media):
        if not isinstance(item, dict):
            raise ControlError(400, f"seed media[{i}] must be an object")
        if "synthetic" in item:
            if item["synthetic"] not in STANDARD_CLIPS:
                raise ControlError(400, f"seed media[{i}]: unknown synthetic clip {item['synthetic']!r}; known: "
                                        + ", ".join(sorted(STANDARD_CLIPS)))
        elif "path" in item:
            try:
                path = safe_join(base_dir, str(item["path"]))
            except UnsafePath as exc:
                raise ControlError(400, f"seed media[{i}] path {item['path']!r} is not allowed: {exc}") from None
            if not path.is_file():
                raise ControlError(400, f"seed media[{i}]: file {item['path']!r} not found in {base_dir}")
        else:
            raise ControlError(400, f"seed media[{i}] needs \"synthetic\" or \"path\"")


def _apply(ctx: AppContext, doc: dict[str, Any]) -> dict[str, int]:
    try:
        return apply_seed(ctx, doc)
    except (SeedError, KeyError, TypeError, AttributeError, ValueError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ControlError(400, f"the seed document cannot be applied: {detail}") from None


@router.post("/seed", **docs.SEED)
async def seed(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    doc = _seed_from_body(ctx, await request_object(request, SEED_USAGE))
    return {"seeded": await run_in_threadpool(_apply, ctx, doc)}


@router.post("/reseed", **docs.RESEED)
async def reseed(request: Request) -> dict[str, Any]:
    """Reset everything, then seed (the document is checked before anything is removed)."""
    ctx = _ctx(request)
    doc = _seed_from_body(ctx, await request_object(request, SEED_USAGE))
    await run_in_threadpool(resets.reset_everything, ctx)
    await run_in_threadpool(reset_controls, ctx)
    return {"reset": "everything", "seeded": await run_in_threadpool(_apply, ctx, doc)}


@router.get("/snapshot", **docs.SNAPSHOT_EXPORT)
def export(request: Request) -> FileResponse:
    ctx = _ctx(request)
    ctx.storage.tmp.mkdir(parents=True, exist_ok=True)
    out = ctx.storage.tmp / f"snapshot-{ids.hex32()[:12]}.tar.gz"
    try:
        snapshot.export_snapshot(ctx, out)
    except snapshot.SnapshotError as exc:
        raise ControlError(500, str(exc)) from None
    stamp = ctx.clock.now_ms()
    return FileResponse(out, media_type="application/gzip", filename=f"lynkflow-snapshot-{stamp}.tar.gz",
                        background=BackgroundTask(out.unlink, missing_ok=True))


@router.post("/snapshot", **docs.SNAPSHOT_IMPORT)
async def import_(request: Request) -> dict[str, Any]:
    """Upload a snapshot: the archive as the raw body, or as the `file` field of a multipart form."""
    ctx = _ctx(request)
    ctx.storage.tmp.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".tar.gz", dir=ctx.storage.tmp)
    path = Path(name)
    try:
        with open(fd, "wb") as out:
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("multipart/"):
                form = await request.form()
                upload = form.get("file")
                if upload is None or isinstance(upload, str):
                    raise ControlError(400, "send the snapshot as the multipart field 'file'")
                await run_in_threadpool(shutil.copyfileobj, upload.file, out)
            else:
                size = 0
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_SNAPSHOT_UPLOAD:
                        raise ControlError(413, "the snapshot is larger than 16 GB")
                    out.write(chunk)
        if path.stat().st_size == 0:
            raise ControlError(400, "send the snapshot archive (.tar.gz from GET /_lynkflow/snapshot) as the body")
        try:
            summary = await run_in_threadpool(snapshot.import_snapshot, ctx, path)
        except snapshot.SnapshotError as exc:
            status = 409 if "empty instance" in str(exc) else 400
            raise ControlError(status, str(exc)) from None
        return {"imported": summary}
    finally:
        path.unlink(missing_ok=True)
