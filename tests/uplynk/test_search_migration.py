"""Migration 0005 gives assets stored before it the word-pair rows that phrase queries use."""

from __future__ import annotations

from sqlalchemy import insert, select

from lynkflow.db.engine import make_engine
from lynkflow.db.migrate import downgrade, upgrade
from lynkflow.db.models import UplynkAsset, UplynkAssetTerm, UplynkOwner
from lynkflow.domain.uplynk_assets import term_rows
from lynkflow.domain.uplynk_search import PAIR_PREFIX
from tests.foundation.test_migrations import empty_db_url  # noqa: F401 - the fixture, on both backends

ASSETS = {
    f"{i:032x}": (desc, ext, meta)
    for i, (desc, ext, meta) in enumerate([
        ("Basketball convention 2023", "ma-001", {"class": "image", "note": "just another value"}),
        ("League basketball game", "league_7", {}),
        ("one", "", {"n": 7}),
    ], start=1)
}


def _rows(engine, pairs: bool) -> set[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(UplynkAssetTerm.asset_id, UplynkAssetTerm.field, UplynkAssetTerm.term))
        return {tuple(r) for r in rows if r.field.startswith(PAIR_PREFIX) == pairs}


def test_existing_assets_get_pair_rows(empty_db_url: str) -> None:  # noqa: F811
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0004_control_state")
        with engine.begin() as conn:
            conn.execute(insert(UplynkOwner), [{"id": "o" * 32, "name": "", "studio_drm": False, "created": 0}])
            for aid, (desc, ext, meta) in ASSETS.items():
                conn.execute(insert(UplynkAsset), [dict(
                    id=aid, owner_id="o" * 32, media_id=None, external_id=ext, desc=desc, state="ready",
                    job_type="vod", source="file", orig_filename=None, duration=1.0, rays=0, slices=0, audio_only=0,
                    meta=meta, break_offsets=[], poster_path=None, embed_player_id="p" * 24, autoexpire=0,
                    require_drm=0, require_studio_drm=0, error=None, created=0, lastmod=0, deleted=None)])
                # What the index held before 0005: word rows only.
                words = [r for r in term_rows(aid, desc, ext, meta) if not r["field"].startswith(PAIR_PREFIX)]
                conn.execute(insert(UplynkAssetTerm), words)
        assert _rows(engine, pairs=True) == set()

        upgrade(engine)
        expected = {(r["asset_id"], r["field"], r["term"])
                    for aid, (desc, ext, meta) in ASSETS.items() for r in term_rows(aid, desc, ext, meta)}
        assert _rows(engine, pairs=False) | _rows(engine, pairs=True) == expected
        assert ("0" * 31 + "1", PAIR_PREFIX + "name", "basketball convention") in expected
        assert ("0" * 31 + "1", PAIR_PREFIX + "meta:note", "another value") in expected

        downgrade(engine, "0004_control_state")
        assert _rows(engine, pairs=True) == set()
        assert _rows(engine, pairs=False)  # the word rows stay
    finally:
        engine.dispose()
