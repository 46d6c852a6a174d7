"""search: adjacent word pairs in the asset term index, for phrase queries

Every asset already stored gets the pair rows that `term_rows` now writes beside its word rows
(lynkflow.domain.uplynk_search), so phrase queries over existing data use the index at once. The
schema is unchanged: pair rows live in `uplynk_asset_terms` under their own field names.

Revision ID: 0007_search_pairs
Revises: 0006_tenants
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_search_pairs"
down_revision = "0006_tenants"
branch_labels = None
depends_on = None

BATCH = 2000

_assets = sa.table("uplynk_assets", sa.column("id", sa.String), sa.column("desc", sa.Text),
                   sa.column("external_id", sa.String), sa.column("meta", sa.JSON))
_terms = sa.table("uplynk_asset_terms", sa.column("asset_id", sa.String), sa.column("field", sa.String),
                  sa.column("term", sa.String))


def upgrade() -> None:
    from lynkflow.domain.uplynk_assets import field_words
    from lynkflow.domain.uplynk_search import PAIR_PREFIX, pair_rows

    conn = op.get_bind()
    # Idempotent: a re-run (or rows a newer writer made) never duplicates a pair row.
    conn.execute(sa.delete(_terms).where(_terms.c.field.startswith(PAIR_PREFIX, autoescape=True)))
    last = ""
    while True:
        rows = conn.execute(sa.select(_assets.c.id, _assets.c.desc, _assets.c.external_id, _assets.c.meta)
                            .where(_assets.c.id > last).order_by(_assets.c.id).limit(BATCH)).all()
        if not rows:
            break
        batch: list[dict[str, str]] = []
        for r in rows:
            meta = r.meta if isinstance(r.meta, dict) else {}
            batch.extend(pair_rows(r.id, field_words(r.desc or "", r.id, r.external_id or "", meta)))
        if batch:
            conn.execute(sa.insert(_terms), batch)
        last = rows[-1].id


def downgrade() -> None:
    from lynkflow.domain.uplynk_search import PAIR_PREFIX

    op.get_bind().execute(sa.delete(_terms).where(_terms.c.field.startswith(PAIR_PREFIX, autoescape=True)))
