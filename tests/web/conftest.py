"""Helpers for the dashboard tests: rows written straight into the database (no ffmpeg needed)."""

from __future__ import annotations

from typing import Any

import pytest

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import Job, Media, UplynkAsset, UplynkTestPlayer, VisAsset, VisEvent


class Rows:
    """Writes dashboard-visible rows through the app's own context (its database and data dir)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def media(self, *, thumbs: int = 3, with_files: bool = True) -> Media:
        """A ready media item whose ingest outputs are small real PNG files under the data dir."""
        media_id = ids.hex32()
        out_rel = f"media/{media_id}/out"
        renditions: dict[str, Any] = {
            "rays": [{"name": "a", "playlist": "a/index.m3u8", "mp4": "a/ray.mp4"}], "slices": thumbs,
            "duration": 10.0, "thumbs": [f"thumbs/{i:05d}.png" for i in range(thumbs)],
            "poster": "poster.png", "mp4": "download.mp4", "master_playlist": "master.m3u8",
        }
        if with_files:
            from PIL import Image

            out = self.ctx.storage.root / out_rel
            (out / "thumbs").mkdir(parents=True, exist_ok=True)
            for rel in [*renditions["thumbs"], "poster.png"]:
                Image.new("RGB", (64, 36), (200, 30, 30)).save(out / rel)
        now = self.ctx.clock.now_ms()
        with self.ctx.session() as db:
            media = Media(id=media_id, original_filename="clip.mp4", source_path=f"media/{media_id}/source.mp4",
                          size_bytes=1, state="ready", output_dir=out_rel, renditions=renditions, created=now,
                          updated=now)
            db.add(media)
        return media

    def asset(self, *, desc: str = "An asset", state: str = "ready", media: Media | None = None,
              deleted: bool = False, error: str | None = None, created: int | None = None) -> UplynkAsset:
        now = self.ctx.clock.now_ms() if created is None else created
        with self.ctx.session() as db:
            asset = UplynkAsset(id=ids.hex32(), owner_id=self.ctx.settings.uplynk_owner,
                                media_id=media.id if media else None, external_id="ext-" + desc.replace(" ", "-"),
                                desc=desc, state=state, duration=10.0, rays=1, slices=3, meta={},
                                break_offsets=[], embed_player_id=ids.player_id(), error=error,
                                deleted=now if deleted else None, created=now, lastmod=now)
            db.add(asset)
            db.flush()
            db.add(UplynkTestPlayer(id=ids.player_id(), asset_id=asset.id, desc="Test Player", created=now))
        return asset

    def player_of(self, asset: UplynkAsset) -> str:
        from sqlalchemy import select

        with self.ctx.session() as db:
            return db.scalar(select(UplynkTestPlayer.id).where(UplynkTestPlayer.asset_id == asset.id))

    def job(self, *, kind: str = "ingest", state: str = "failed", error: str | None = "ffmpeg said no",
            payload: dict[str, Any] | None = None, progress: float = 0.0) -> Job:
        now = self.ctx.clock.now_ms()
        with self.ctx.session() as db:
            job = Job(kind=kind, payload=payload or {}, priority=5, state=state, attempts=3, max_attempts=3,
                      last_error=error, progress=progress, created=now, run_after=0.0)
            db.add(job)
            db.flush()
        return job

    def event(self, *, title: str = "An event", state: int = 10, extra: dict[str, Any] | None = None,
              deleted: bool = False) -> VisEvent:
        now = self.ctx.clock.now_ms()
        event_id = ids.guid()
        with self.ctx.session() as db:
            event = VisEvent(id=event_id, api_key=self.ctx.settings.vuflow_api_key, title=title,
                             content_id=event_id, state=state, mp4_state=1 if state in (10, 11) else 0,
                             vod_folder=f"{event_id}/vod" if state in (10, 11) else None,
                             vod_file=f"{event_id}/vod/{event_id}.mp4" if state in (10, 11) else None,
                             extra=extra or {}, deleted=now if deleted else None, created=now, modified=now)
            db.add(event)
        return event

    def vis_asset(self, event: VisEvent, *, name: str, ext: str, type_: int, state: int = 1,
                  failure: str | None = None) -> VisAsset:
        now = self.ctx.clock.now_ms()
        with self.ctx.session() as db:
            asset = VisAsset(id=ids.guid(), event_id=event.id, api_key=event.api_key, name=name,
                             path=f"{event.content_id}/assets/{name}.{ext}", extension=ext, state=state,
                             type=type_, content_id=event.content_id, failure_reason=failure, params={},
                             created=now, modified=now)
            db.add(asset)
        return asset


@pytest.fixture
def rows(client) -> Rows:
    return Rows(client.app.state.ctx)
