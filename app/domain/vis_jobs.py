"""Job handlers that render VIS assets: `vis.gif`, `vis.video` (MP4 clip) and `vis.image` (JPEG).

`run` cuts the asset from the event's recording straight to the asset's path (the media engine
writes atomically); `finish` flips the asset to COMPLETED, `fail` to FAILED with the reason (the
queue job's `last_error` carries the same reason to the control plane). An asset deleted while its
job ran gets no file: `run` skips it, and `finish` removes a file written meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lynkflow.context import AppContext
from lynkflow.db.models import VisAsset, VisEvent
from lynkflow.domain.vis_assets import COMPLETED, FAILED
from lynkflow.domain.vis_events import VisDomainError, recording_of
from lynkflow.jobs import kinds
from lynkflow.jobs.registry import Handler, JobRun, register
from lynkflow.storage.paths import safe_join

if TYPE_CHECKING:
    from lynkflow.media.probe import Probe


def _source_and_target(ctx: AppContext, payload: dict[str, Any]) -> tuple[Path, Path, Probe | None] | None:
    """The recording (fetched into the local cache from an object store), the output path and the
    recording's stored probe; None when the asset or event was deleted meanwhile."""
    with ctx.read_session() as db:  # a look: the job writes nothing until its finish
        asset = db.get(VisAsset, payload["asset_id"])
        event = db.get(VisEvent, payload["event_id"])
        if asset is None or event is None:
            return None
        try:
            rec = recording_of(db, ctx, event)
        except VisDomainError as exc:
            # A recording that went away cannot come back by retrying: ValueError = no retry.
            raise ValueError(str(exc)) from None
    source = ctx.storage.local_file(rec.relative)
    return source, safe_join(ctx.storage.vis_root, payload["path"]), _probe_of(rec.probe)


def _probe_of(doc: dict[str, Any] | None) -> Probe | None:
    """The recording's stored probe as a `Probe` (so the media engine does not read the file again for
    it), or None when it is absent or from an older layout."""
    from lynkflow.media.probe import Probe  # the media engine loads only in workers

    try:
        return Probe.from_dict(doc) if doc else None
    except (KeyError, TypeError):
        return None


Maker = Callable[[Path, Path, dict[str, Any], "Probe | None"], dict[str, Any]]


def _render(ctx: AppContext, job: JobRun, make: Maker) -> dict[str, Any]:
    """Run `make(source, target, payload, probe)` for the job's asset, unless the asset was deleted
    meanwhile; the output is published to storage (an object store upload) before the job finishes."""
    found = _source_and_target(ctx, job.payload)
    if found is None:
        return {"skipped": "asset deleted"}
    source, target, probe = found
    info = make(source, target, job.payload, probe)
    ctx.storage.publish(f"vis/{job.payload['path']}")
    return {"path": job.payload["path"], **info}


def _run_gif(ctx: AppContext, job: JobRun) -> dict[str, Any]:
    from lynkflow.media.gif import make_gif

    return _render(ctx, job, lambda source, target, p, probe: make_gif(
        source, target, start=p["start"], end=p["end"], fps=p["fps"], width=p.get("width"), height=p.get("height"),
        playback_speed=p["playback_speed"], repeats=p["playback_repeats"], reverse=p["reverse"],
        on_progress=job.report_progress, cancel=job.cancel, info=probe))


def _run_video(ctx: AppContext, job: JobRun) -> dict[str, Any]:
    from lynkflow.media.clip import make_clip

    return _render(ctx, job, lambda source, target, p, probe: make_clip(
        source, target, start=p["start"], end=p["end"], frame_accurate=p["frame_accurate"], copy_ts=p["copy_ts"],
        top_track_only=p["mezzanine"], on_progress=job.report_progress, cancel=job.cancel, info=probe))


def _run_image(ctx: AppContext, job: JobRun) -> dict[str, Any]:
    from lynkflow.media.image import make_image

    return _render(ctx, job, lambda source, target, p, _probe: make_image(source, target, t=p["start"],
                                                                           width=p.get("width")))


def _finish(ctx: AppContext, job_id: int, payload: dict[str, Any], result: dict[str, Any]) -> None:
    with ctx.session() as db:
        asset = db.get(VisAsset, payload["asset_id"])
        if asset is None or asset.job_id != str(job_id):
            if "skipped" not in result:
                # Deleted while rendering: do not leave an orphan file behind.
                ctx.storage.remove_tree(f"vis/{payload['path']}")
            return
        asset.state = COMPLETED
        asset.failure_reason = None
        asset.params = {**(asset.params or {}), "output": {k: v for k, v in result.items() if k != "path"}}
        asset.modified = ctx.clock.now_ms()


def _fail(ctx: AppContext, job_id: int, payload: dict[str, Any], reason: str) -> None:
    with ctx.session() as db:
        asset = db.get(VisAsset, payload["asset_id"])
        if asset is None or asset.job_id != str(job_id):
            return
        asset.state = FAILED
        asset.failure_reason = reason
        asset.modified = ctx.clock.now_ms()


register(Handler(kinds.VIS_GIF, _run_gif, _finish, _fail, lifecycle_group="gif"))
register(Handler(kinds.VIS_VIDEO, _run_video, _finish, _fail, lifecycle_group="video"))
register(Handler(kinds.VIS_IMAGE, _run_image, _finish, _fail, lifecycle_group="image"))
