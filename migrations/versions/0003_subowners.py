"""uplynk: subowner logins (api2 subowners/*)

One row per subowner: its `prefix.name` username (unique across accounts), a salted scrypt hash of
its password, its permissions (`slice`, `api`) and its API keys (the current one, and rotated ones
kept disabled so `all_api_keys` can list them).

Revision ID: 0003_subowners
Revises: 0002_uplynk
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_subowners"
down_revision = "0002_uplynk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uplynk_subowners",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("perm_slice", sa.Boolean(), nullable=False),
        sa.Column("perm_api", sa.Boolean(), nullable=False),
        sa.Column("api_key", sa.String(length=200), nullable=False),
        sa.Column("old_api_keys", sa.JSON(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("lastmod", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["uplynk_owners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username", name="uq_uplynk_subowners_username"),
    )
    with op.batch_alter_table("uplynk_subowners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uplynk_subowners_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("uplynk_subowners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uplynk_subowners_owner_id"))
    op.drop_table("uplynk_subowners")
