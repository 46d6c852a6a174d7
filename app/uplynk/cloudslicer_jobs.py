"""`/api2/cloudslicer/jobs/*`: create, quickclip, get, list, cancel, delete, create_export (reference §5.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lynkflow import jsondoc
from lynkflow.domain import uplynk_jobs as jobs
from lynkflow.domain.uplynk_jobs import SlicerError
from lynkflow.uplynk.errors import Api2Error
from lynkflow.uplynk.params import (
    ParamError,
    as_str,
    parse_bool,
    parse_int,
    parse_kv_meta,
    parse_str_list,
    parse_time_ms,
    parse_trim,
    require,
)
from lynkflow.uplynk.render import job_dicts
from lynkflow.uplynk.transport import Api2Call


def _dict_param(value: Any, name: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = jsondoc.loads(value, what=name)
        except jsondoc.DocumentError as exc:
            if exc.kind != "InvalidJson":
                raise ParamError(exc.message) from None
            raise ParamError(f"{name} must be a dictionary (or a JSON string of one)") from None
    if not isinstance(value, dict):
        raise ParamError(f"{name} must be a dictionary")
    return value


def _render_one(call: Api2Call, db: Session, job_id: str) -> dict[str, Any]:
    db.flush()  # a job created or changed by this call is read back through the same session
    job = jobs.get_job(db, call.owner, job_id)
    if job is None:
        raise Api2Error(f"Job not found ({job_id})")
    return job_dicts(db, call.public_base, [job])[0]


def _asset_fields(args: dict[str, Any]) -> dict[str, Any]:
    """The new asset's external_id, desc ("" = the default) and meta from a slicer job's `args`."""
    meta_raw = args.get("meta")
    if isinstance(meta_raw, dict):
        meta = {str(k): v for k, v in meta_raw.items()}
    elif meta_raw in (None, ""):
        meta = {}
    else:
        meta = parse_kv_meta(as_str(meta_raw, "args.meta", max_len=100_000))
    return {
        "external_id": as_str(args.get("external_id") or "", "args.external_id", max_len=200),
        "desc": as_str(args.get("description") or args.get("desc") or "", "args.description", max_len=1000),
        "meta": meta,
    }


def _priority(p: dict[str, Any]) -> int:
    return 3 if parse_bool(p.get("high_priority", False), "high_priority") else 5


def _quickclip_trim(source: dict[str, Any]) -> tuple[int, int]:
    """`source.trim` = [start_ms, duration_ms], both non-negative integers, duration > 0."""
    usage = 'send source={"trim": [start_ms, duration_ms]}, e.g. {"trim": [2000, 1000]}'
    trim = source.get("trim")
    if trim is None:
        raise Api2Error(f"missing source.trim: {usage}")
    if (not isinstance(trim, list) or len(trim) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in trim)):
        raise Api2Error(f"source.trim must be a list of two non-negative integers (milliseconds): {usage}")
    start, duration = trim
    if duration <= 0:
        raise Api2Error(f"source.trim duration must be greater than 0 ms, got {duration}")
    return start, duration


def create(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    source = p.get("source")
    if isinstance(source, str) and not source.lstrip().startswith("{"):
        source = {"url": source}  # a bare URL is an obvious intent
    source = _dict_param(source, "source")
    if not source.get("url"):
        raise Api2Error('missing source: send source={"url": "<file in the media folder or http://127.0.0.1/...>"}')
    args = _dict_param(p.get("args"), "args")
    ingest = {**_asset_fields(args), "trim": parse_trim(args.get("trim"))}
    priority = _priority(p)
    try:
        job_id = jobs.create_job(db, call.ctx, call.owner, source, args, ingest, priority=priority)
    except SlicerError as exc:
        raise Api2Error(str(exc)) from None
    return {"job": _render_one(call, db, job_id)}


@dataclass(frozen=True)
class _Quickclip:
    """A quickclip request, parsed; `found` is what the read step found (beam rendition, poster)."""

    source: dict[str, Any]
    args: dict[str, Any]
    start: int
    duration: int
    beam_id: str
    fields: dict[str, Any]
    priority: int
    found: jobs.QuickclipSource


def quickclip_source(call: Api2Call, db: Session) -> _Quickclip:
    """The read step of quickclip (before the write session): every parameter, then the beam and
    the poster frame, so nothing is written for a request that will be refused."""
    p = call.params
    source = _dict_param(p.get("source"), "source")
    start, duration = _quickclip_trim(source)
    args = _dict_param(p.get("args"), "args")
    if args.get("beam_id") in (None, ""):
        raise Api2Error('missing args.beam_id: send args={"beam_id": "<id of the ready asset to clip>"}')
    beam_id = as_str(args["beam_id"], "args.beam_id", max_len=64)
    poster_raw = args.get("poster_ts")
    poster_ts = None if poster_raw in (None, "") else parse_time_ms(poster_raw, "args.poster_ts")
    fields = _asset_fields(args)
    priority = _priority(p)
    try:
        found = jobs.quickclip_source(db, call.ctx, call.owner, beam_id, start, duration, poster_ts)
    except SlicerError as exc:
        raise Api2Error(str(exc)) from None
    return _Quickclip(source, args, start, duration, beam_id, fields, priority, found)


def quickclip(call: Api2Call, db: Session) -> dict[str, Any]:
    q: _Quickclip = call.prepared
    try:
        job_id = jobs.create_quickclip(db, call.ctx, call.owner, q.beam_id, q.start, q.duration, q.found, q.source,
                                       q.args, q.fields, priority=q.priority)
    except SlicerError as exc:
        raise Api2Error(str(exc)) from None
    return {"job": _render_one(call, db, job_id)}


def get(call: Api2Call, db: Session) -> dict[str, Any]:
    job_id = as_str(require(call.params, "id"), "id", max_len=64)
    return {"job": _render_one(call, db, job_id)}


def list_(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    limit = parse_int(p["limit"], "limit", low=1, high=1000) if p.get("limit") not in (None, "") else 100
    skip = parse_int(p["skip"], "skip", low=0) if p.get("skip") not in (None, "") else 0
    rows = jobs.list_jobs(db, call.owner, limit, skip)
    return {"jobs": job_dicts(db, call.public_base, rows)}


def cancel(call: Api2Call, db: Session) -> dict[str, Any]:
    job_id = as_str(require(call.params, "id"), "id", max_len=64)
    try:
        queue_job_id = jobs.cancel_job(db, call.ctx, call.owner, job_id)
    except SlicerError as exc:
        raise Api2Error(str(exc)) from None
    # After the commit: the worker that sees the request then also sees the job as cancelled.
    call.after_commit.append(lambda: jobs.stop_queue_job(call.ctx, queue_job_id))
    return {"job": _render_one(call, db, job_id)}


def delete(call: Api2Call, db: Session) -> dict[str, Any]:
    ids_ = parse_str_list(require(call.params, "ids"), "ids")
    if not ids_:
        raise Api2Error("missing required parameter ids")
    return {"actions": jobs.delete_jobs(db, call.ctx, call.owner, ids_)}


def create_export(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    asset_id = as_str(require(p, "asset"), "asset", max_len=64)
    aaclc = parse_bool(p.get("aaclc", False), "aaclc")
    try:
        job_id = jobs.create_export(db, call.ctx, call.owner, asset_id, aaclc)
    except SlicerError as exc:
        raise Api2Error(str(exc)) from None
    return {"job": _render_one(call, db, job_id)}
