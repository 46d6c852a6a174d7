"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires", sa.Float(), nullable=True),
        sa.Column("run_after", sa.Float(), nullable=False),
        sa.Column("release_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=True),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_claim", ["state", "priority", "id"], unique=False)

    op.create_table(
        "lynkflow_kv",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "media",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("original_filename", sa.String(length=500), nullable=False),
        sa.Column("source_path", sa.String(length=1000), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("probe", sa.JSON(), nullable=True),
        sa.Column("output_dir", sa.String(length=1000), nullable=True),
        sa.Column("renditions", sa.JSON(), nullable=True),
        sa.Column("recording_start_ms", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "uplynk_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("uplynk_changes", schema=None) as batch_op:
        batch_op.create_index("ix_uplynk_changes_owner_at", ["owner_id", "at_ms"], unique=False)

    op.create_table(
        "uplynk_owners",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("studio_drm", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "vis_api_keys",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "uplynk_api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["uplynk_owners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("uplynk_api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uplynk_api_keys_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "uplynk_assets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("media_id", sa.String(length=32), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("desc", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("job_type", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("orig_filename", sa.String(length=500), nullable=True),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("rays", sa.Integer(), nullable=False),
        sa.Column("slices", sa.Integer(), nullable=False),
        sa.Column("audio_only", sa.Integer(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("break_offsets", sa.JSON(), nullable=False),
        sa.Column("poster_path", sa.String(length=1000), nullable=True),
        sa.Column("embed_player_id", sa.String(length=32), nullable=True),
        sa.Column("autoexpire", sa.BigInteger(), nullable=False),
        sa.Column("require_drm", sa.Integer(), nullable=False),
        sa.Column("require_studio_drm", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("lastmod", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_id"], ["uplynk_owners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("uplynk_assets", schema=None) as batch_op:
        batch_op.create_index("ix_uplynk_assets_autoexpire", ["autoexpire"], unique=False)
        batch_op.create_index("ix_uplynk_assets_owner_created", ["owner_id", "created"], unique=False)
        batch_op.create_index("ix_uplynk_assets_owner_external", ["owner_id", "external_id"], unique=False)

    op.create_table(
        "uplynk_libraries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("desc", sa.String(length=500), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("lastmod", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["uplynk_owners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("uplynk_libraries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uplynk_libraries_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "uplynk_slicer_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("asset_id", sa.String(length=32), nullable=True),
        sa.Column("queue_job_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_start", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.BigInteger(), nullable=False),
        sa.Column("progress", sa.String(length=200), nullable=False),
        sa.Column("export_path", sa.String(length=1000), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["uplynk_owners.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["queue_job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("uplynk_slicer_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uplynk_slicer_jobs_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "vis_vuflows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("api_key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("configuration_json", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["api_key"], ["vis_api_keys.key"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vis_vuflows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vis_vuflows_api_key"), ["api_key"], unique=False)

    op.create_table(
        "uplynk_asset_terms",
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["uplynk_assets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("asset_id", "field", "term"),
    )
    with op.batch_alter_table("uplynk_asset_terms", schema=None) as batch_op:
        batch_op.create_index("ix_uplynk_asset_terms_term", ["term", "field"], unique=False)

    op.create_table(
        "uplynk_library_assets",
        sa.Column("library_id", sa.String(length=32), nullable=False),
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["uplynk_assets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["library_id"], ["uplynk_libraries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("library_id", "asset_id"),
    )
    with op.batch_alter_table("uplynk_library_assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uplynk_library_assets_asset_id"), ["asset_id"], unique=False)

    op.create_table(
        "uplynk_library_shares",
        sa.Column("library_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["library_id"], ["uplynk_libraries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["uplynk_owners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("library_id", "owner_id"),
    )
    with op.batch_alter_table("uplynk_library_shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uplynk_library_shares_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "uplynk_test_players",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("desc", sa.String(length=200), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["uplynk_assets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("uplynk_test_players", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uplynk_test_players_asset_id"), ["asset_id"], unique=False)

    op.create_table(
        "vis_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("api_key", sa.String(length=100), nullable=False),
        sa.Column("vuflow_id", sa.String(length=36), nullable=True),
        sa.Column("media_id", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=1000), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("content_id", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("ref_id", sa.String(length=200), nullable=True),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("mp4_state", sa.Integer(), nullable=False),
        sa.Column("vod_folder", sa.String(length=1000), nullable=True),
        sa.Column("vod_file", sa.String(length=1000), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["api_key"], ["vis_api_keys.key"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["vuflow_id"], ["vis_vuflows.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vis_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vis_events_api_key"), ["api_key"], unique=False)

    op.create_table(
        "vis_assets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("api_key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("extension", sa.String(length=20), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("content_id", sa.String(length=100), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["vis_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "path", name="uq_vis_assets_event_path"),
    )
    with op.batch_alter_table("vis_assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vis_assets_api_key"), ["api_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_vis_assets_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vis_assets_job_id"), ["job_id"], unique=False)
        batch_op.create_index("ix_vis_assets_key_created", ["api_key", "created"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vis_assets", schema=None) as batch_op:
        batch_op.drop_index("ix_vis_assets_key_created")
        batch_op.drop_index(batch_op.f("ix_vis_assets_job_id"))
        batch_op.drop_index(batch_op.f("ix_vis_assets_event_id"))
        batch_op.drop_index(batch_op.f("ix_vis_assets_api_key"))

    op.drop_table("vis_assets")
    with op.batch_alter_table("vis_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vis_events_api_key"))

    op.drop_table("vis_events")
    with op.batch_alter_table("uplynk_test_players", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uplynk_test_players_asset_id"))

    op.drop_table("uplynk_test_players")
    with op.batch_alter_table("uplynk_library_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uplynk_library_shares_owner_id"))

    op.drop_table("uplynk_library_shares")
    with op.batch_alter_table("uplynk_library_assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uplynk_library_assets_asset_id"))

    op.drop_table("uplynk_library_assets")
    with op.batch_alter_table("uplynk_asset_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_uplynk_asset_terms_term")

    op.drop_table("uplynk_asset_terms")
    with op.batch_alter_table("vis_vuflows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vis_vuflows_api_key"))

    op.drop_table("vis_vuflows")
    with op.batch_alter_table("uplynk_slicer_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uplynk_slicer_jobs_owner_id"))

    op.drop_table("uplynk_slicer_jobs")
    with op.batch_alter_table("uplynk_libraries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uplynk_libraries_owner_id"))

    op.drop_table("uplynk_libraries")
    with op.batch_alter_table("uplynk_assets", schema=None) as batch_op:
        batch_op.drop_index("ix_uplynk_assets_owner_external")
        batch_op.drop_index("ix_uplynk_assets_owner_created")
        batch_op.drop_index("ix_uplynk_assets_autoexpire")

    op.drop_table("uplynk_assets")
    with op.batch_alter_table("uplynk_api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uplynk_api_keys_owner_id"))

    op.drop_table("uplynk_api_keys")
    op.drop_table("vis_api_keys")
    op.drop_table("uplynk_owners")
    with op.batch_alter_table("uplynk_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_uplynk_changes_owner_at")

    op.drop_table("uplynk_changes")
    op.drop_table("media")
    op.drop_table("lynkflow_kv")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_claim")

    op.drop_table("jobs")
