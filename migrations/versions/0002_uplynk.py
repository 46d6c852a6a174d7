"""uplynk: covering index for the asset/list term search

The asset/list query language reads asset IDs by (term, field). With `asset_id` in the index the
lookup never touches the table, which keeps a search at 100k assets close to its cost at 10k.
This index replaces the (term, field) one it extends.

Revision ID: 0002_uplynk
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002_uplynk"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uplynk_asset_terms", schema=None) as batch_op:
        batch_op.create_index("ix_uplynk_asset_terms_term_asset", ["term", "field", "asset_id"], unique=False)
        batch_op.drop_index("ix_uplynk_asset_terms_term")


def downgrade() -> None:
    with op.batch_alter_table("uplynk_asset_terms", schema=None) as batch_op:
        batch_op.create_index("ix_uplynk_asset_terms_term", ["term", "field"], unique=False)
        batch_op.drop_index("ix_uplynk_asset_terms_term_asset")
