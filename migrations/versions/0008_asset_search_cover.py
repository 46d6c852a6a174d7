"""search: a covering index of the asset columns an asset/list query filters and sorts on

A query's candidates come from the term index as asset IDs; each is then checked for owner and
deletion and sorted by `created` (the default order). Through the primary key that costs an index
search plus a table-row read per candidate; this index holds all four columns, so the check and the
sort read the index alone (SQLite: about half the time of `query=news` over 2,000 assets).

Revision ID: 0008_asset_search_cover
Revises: 0007_search_pairs
Create Date: 2026-12-04
"""

from alembic import op

revision = "0008_asset_search_cover"
down_revision = "0007_search_pairs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_uplynk_assets_search_cover", "uplynk_assets", ["id", "owner_id", "deleted", "created"])


def downgrade() -> None:
    op.drop_index("ix_uplynk_assets_search_cover", table_name="uplynk_assets")
