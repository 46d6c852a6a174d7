"""Uplynk data version: a `control_state` counter that only commits changing what api2 asset/list
answers are made of increment

Triggers on `uplynk_assets`, `uplynk_asset_terms`, `uplynk_test_players`, `uplynk_library_assets`,
`uplynk_library_shares` and `media` bump the `_uplynk` row (lynkflow/db/data_version.py), so asset/list
answers kept per process (lynkflow/kept_answers.py) survive the commits of everything else (the
request journal, api2 replay records, VIS writes). On PostgreSQL the VIS bump function gets the body
that locks both counter rows in one order first (two transactions never wait on each other's).

Revision ID: 0010_uplynk_version
Revises: 0009_vis_version
Create Date: 2026-12-06
"""

from alembic import op

from lynkflow.db.data_version import UPLYNK, VIS

revision = "0010_uplynk_version"
down_revision = "0009_vis_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        VIS.create_function(conn, replace=True)
    UPLYNK.create_triggers(conn)
    conn.exec_driver_sql("INSERT INTO control_state (name, doc, version) VALUES ('_uplynk', '{}', 0)")


def downgrade() -> None:
    conn = op.get_bind()
    conn.exec_driver_sql("DELETE FROM control_state WHERE name = '_uplynk'")
    UPLYNK.drop_triggers(conn)
