"""VIS version: a `control_state` counter that only commits changing what VIS lists show increment

Triggers on `vis_assets`, `vis_events`, `vis_vuflows` and `media` bump the `_vis` row
(lynkflow/db/data_version.py), so VIS list answers kept per process (lynkflow/kept_answers.py) survive the
commits of everything else (the request journal, api2 replay records, Uplynk writes), on SQLite and
PostgreSQL alike.

Revision ID: 0009_vis_version
Revises: 0008_asset_search_cover
Create Date: 2026-12-05
"""

from alembic import op

from lynkflow.db.data_version import VIS

revision = "0009_vis_version"
down_revision = "0008_asset_search_cover"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    VIS.create_triggers(conn)
    conn.exec_driver_sql("INSERT INTO control_state (name, doc, version) VALUES ('_vis', '{}', 0)")


def downgrade() -> None:
    conn = op.get_bind()
    conn.exec_driver_sql("DELETE FROM control_state WHERE name = '_vis'")
    VIS.drop_triggers(conn)
