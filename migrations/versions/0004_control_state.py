"""control plane: state shared by every process (clock, lifecycles, key generation) and fault rules

`control_state` holds one JSON document per piece of control-plane state and, in the `_version`
row, a counter every change increments: a process compares it with the one it last saw to know
whether its cache is stale (lynkflow/shared.py). `control_faults` holds fault rules with their
remaining counts, so a `count: 1` rule fires once across all processes (an atomic decrement).

Revision ID: 0004_control_state
Revises: 0003_subowners
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_control_state"
down_revision = "0003_subowners"
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table(
        "control_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(state, [{"name": "_version", "doc": "{}", "version": 1}])
    op.create_table(
        "control_faults",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=True),
        sa.Column("hits", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_control_faults_seq", "control_faults", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_control_faults_seq", table_name="control_faults")
    op.drop_table("control_faults")
    op.drop_table("control_state")
