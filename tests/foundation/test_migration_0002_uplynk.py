"""Migration 0002_uplynk runs up and down (and up again) and leaves the covering search index."""

from __future__ import annotations

import os

from sqlalchemy import inspect

from lynkflow.db.engine import make_engine
from lynkflow.db.migrate import downgrade, upgrade


def _indexes(engine) -> set[str]:  # noqa: ANN001
    return {i["name"] for i in inspect(engine).get_indexes("uplynk_asset_terms")}


def test_0002_up_down_up(tmp_path) -> None:
    url = os.environ.get("LYNKFLOW_TEST_MIGRATION_URL") or f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine, "0002_uplynk")
        assert "ix_uplynk_asset_terms_term_asset" in _indexes(engine)
        downgrade(engine, "0001")
        assert _indexes(engine) >= {"ix_uplynk_asset_terms_term"}
        assert "ix_uplynk_asset_terms_term_asset" not in _indexes(engine)
        upgrade(engine, "0002_uplynk")
        assert "ix_uplynk_asset_terms_term" not in _indexes(engine)
    finally:
        downgrade(engine, "base")
        engine.dispose()
