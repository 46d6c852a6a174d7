"""VIS: a default vuflow for every existing VIS key (data only, no schema change)

An event that names no vuflow takes its asset URLs from its key's default vuflow, whose
storageUrlPublic is lynkflow's own VIS storage (`{lynkflow}` is the instance's public base URL).
New keys get theirs when they are made (lynkflow/domain/vis_vuflows.py); this gives one to the
keys of a database made before. The id is a name-based GUID of the key in a fixed namespace, the
same one the application derives, so the application finds it without a column marking it.

Revision ID: 0005_vis_default_vuflows
Revises: 0004_control_state
Create Date: 2026-12-04
"""

import json
import time
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005_vis_default_vuflows"
down_revision = "0004_control_state"
branch_labels = None
depends_on = None

# The values of lynkflow/domain/vis_vuflows.py at the time of this migration (a migration must not
# change when the application does).
_NAMESPACE = uuid.UUID("6c7f3a52-9a0e-4d35-8f39-2b1f0d6a7c41")
_NAME = "lynkflow storage"
_CONFIGURATION = json.dumps({"storageUrlPublic": "{lynkflow}/storage/vis"})

_keys = sa.table("vis_api_keys", sa.column("key", sa.String))
_flows = sa.table("vis_vuflows", sa.column("id", sa.String), sa.column("api_key", sa.String),
                  sa.column("name", sa.String), sa.column("configuration_json", sa.Text),
                  sa.column("created", sa.BigInteger), sa.column("modified", sa.BigInteger))


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(bind.execute(sa.select(_flows.c.id)).scalars())
    now = int(time.time() * 1000)
    rows = []
    for key in bind.execute(sa.select(_keys.c.key)).scalars():
        flow_id = str(uuid.uuid5(_NAMESPACE, key))
        if flow_id not in existing:
            rows.append({"id": flow_id, "api_key": key, "name": _NAME, "configuration_json": _CONFIGURATION,
                         "created": now, "modified": now})
    if rows:
        op.bulk_insert(_flows, rows)


def downgrade() -> None:
    bind = op.get_bind()
    for key in list(bind.execute(sa.select(_keys.c.key)).scalars()):
        bind.execute(sa.delete(_flows).where(_flows.c.id == str(uuid.uuid5(_NAMESPACE, key))))
