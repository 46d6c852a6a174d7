"""control plane: state shared by every process — documents, fault rules, replay guard, journal

`control_state` holds one JSON document per piece of control-plane state (clock, lifecycles, key
generation) and two counters: `_version`, which every change increments (a process compares it
with the one it last saw to know whether its cache is stale, lynkflow/shared.py), and `_journal`,
the number of the last journaled request. `control_faults` holds fault rules with their remaining
counts, so a `count: 1` rule fires once across all processes (an atomic decrement).
`control_replay` remembers signed api2 requests until their skew window ends; `control_journal`
is the request journal of every process, capped at LYNKFLOW_JOURNAL_SIZE entries.

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
    op.bulk_insert(state, [{"name": "_version", "doc": "{}", "version": 1},
                           {"name": "_journal", "doc": "{}", "version": 0}])
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
    op.create_table(
        "control_replay",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_control_replay_expires_ms", "control_replay", ["expires_ms"])
    op.create_table(
        "control_journal",
        sa.Column("n", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("api", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("n"),
    )


def downgrade() -> None:
    op.drop_table("control_journal")
    op.drop_index("ix_control_replay_expires_ms", table_name="control_replay")
    op.drop_table("control_replay")
    op.drop_index("ix_control_faults_seq", table_name="control_faults")
    op.drop_table("control_faults")
    op.drop_table("control_state")
