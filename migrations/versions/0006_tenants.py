"""tenants and stubs: isolated Uplynk owner + VIS key pairs for parallel tests; canned answers (issue 15)

`control_tenants` names each tenant's Uplynk owner and VIS API key (and its default vuflow), so a
request's credentials find its tenant (lynkflow/tenancy.py) and a tenant's reset or delete finds
its data through the owner/key indexes every table already has. `control_stubs` holds response stubs
(lynkflow/control/stubs.py) with their remaining counts, like `control_faults`.

Revision ID: 0006_tenants
Revises: 0005_vis_default_vuflows
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_tenants"
down_revision = "0005_vis_default_vuflows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_tenants",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("vis_key", sa.String(length=100), nullable=False),
        sa.Column("vuflow_id", sa.String(length=36), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", name="uq_control_tenants_owner"),
        sa.UniqueConstraint("vis_key", name="uq_control_tenants_vis_key"),
    )


    op.create_table(
        "control_stubs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=True),
        sa.Column("hits", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_control_stubs_seq", "control_stubs", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_control_stubs_seq", table_name="control_stubs")
    op.drop_table("control_stubs")
    op.drop_table("control_tenants")
