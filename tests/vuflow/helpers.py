"""Shared helpers for the VIS tests: events with a recording, without running an ingest."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event

from lynkflow.context import AppContext
from lynkflow.domain import vis_assets, vis_events, vis_vuflows

STORAGE_URL = "{lynkflow}/storage/vis"


def make_vuflow(ctx: AppContext, api_key: str, storage_url: str | None = STORAGE_URL) -> str:
    config = {"storageUrlPublic": storage_url} if storage_url is not None else {}
    import json

    with ctx.session() as db:
        return vis_vuflows.create_vuflow(db, ctx, api_key, name="Test Vuflow",
                                        configuration_json=json.dumps(config)).id


def event_with_recording(ctx: AppContext, api_key: str, recording: Path, *, vuflow_id: str | None = None,
                         **fields: Any) -> str:
    """An event in VOD_PRIVATE whose VOD file is a copy of `recording` (as an ingest would leave it)."""
    with ctx.session() as db:
        event = vis_events.create_event(db, ctx, api_key, title=fields.pop("title", "Recorded"),
                                        vuflow_id=vuflow_id, **fields)
        rel = f"{event.content_id}/vod/{event.content_id}.mp4"
        dst = ctx.storage.vis_root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(recording, dst)
        event.vod_folder = f"{event.content_id}/vod"
        event.vod_file = rel
        event.state = vis_events.VOD_PRIVATE
        vis_assets.ensure_system_asset(db, ctx, event, rel)
        return event.id


def gif_body(event_id: str, start: str = "00:00:01", end: str = "00:00:02", **extra: Any) -> dict[str, Any]:
    return {"clip": {"eventId": event_id, "start": start, "end": end}, "name": extra.pop("name", "Clip"), **extra}


def assert_vis_error(resp: Any, status: int, error_type: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"exceptionType", "exceptionMessage", "errorType", "data"}, body
    assert body["exceptionMessage"], body
    if error_type is not None:
        assert body["errorType"] == error_type, body
    return body


def statements_during(ctx: AppContext, call: Callable[[], Any], table_word: str) -> tuple[int, Any]:
    """(statements naming `table_word` while `call()` runs, what it returned)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if table_word in statement:
            seen.append(statement)

    sa_event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        result = call()
    finally:
        sa_event.remove(ctx.engine, "before_cursor_execute", count)
    return len(seen), result
