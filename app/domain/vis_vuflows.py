"""VIS vuflows: the configuration objects that give events their storageUrlPublic (no HTTP here).

Every VIS key has a default vuflow whose storageUrlPublic is lynkflow's own VIS storage: an event
that names no vuflow (one made by `lynkflow ingest --event`, or a POST without `vuflowId`) takes
its asset URLs from it, so the GIF a test asked for downloads out of the box. Its id is derived
from the key (a name-based GUID), so it is found without a column marking it; a user may change
or delete it like any other vuflow.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lynkflow import ids, jsondoc, limits
from lynkflow.context import AppContext
from lynkflow.db.idempotent import insert_missing
from lynkflow.db.models import VisEvent, VisVuflow
from lynkflow.domain.vis_errors import VisConflict, VisNotFound, VisValidation

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# Fixed namespace of the name-based default vuflow ids (migration 0005 holds the same value).
DEFAULT_VUFLOW_NAMESPACE = uuid.UUID("6c7f3a52-9a0e-4d35-8f39-2b1f0d6a7c41")
DEFAULT_VUFLOW_NAME = "lynkflow storage"
# `{lynkflow}` is this instance's public base URL (app/vuflow/render.py), so the URL fits any host.
DEFAULT_VUFLOW_CONFIGURATION = json.dumps({"storageUrlPublic": "{lynkflow}/storage/vis"})


@lru_cache(maxsize=1024)  # a uuid5 (a SHA-1) per VIS read otherwise; a process sees few keys
def default_vuflow_id(api_key: str) -> str:
    return str(uuid.uuid5(DEFAULT_VUFLOW_NAMESPACE, api_key))


def ensure_default_vuflow(db: Session, api_key: str, now_ms: int) -> None:
    """Give a (new or reset) VIS key its default vuflow; nothing when it already has it."""
    insert_missing(db, VisVuflow, id=default_vuflow_id(api_key), api_key=api_key, name=DEFAULT_VUFLOW_NAME,
                   configuration_json=DEFAULT_VUFLOW_CONFIGURATION, created=now_ms, modified=now_ms)


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def parse_configuration(text: str) -> dict[str, Any]:
    """The parsed configurationJson; raises VisValidation when it is not a JSON object."""
    if not isinstance(text, str):
        raise VisValidation("configurationJson must be a JSON string (or an object)", "InvalidConfigurationJson")
    if len(text) > limits.MAX_DOCUMENT_CHARS:
        raise VisValidation(f"configurationJson is {len(text)} characters long; it may hold at most "
                            f"{limits.MAX_DOCUMENT_CHARS}", "TextTooLong")
    try:
        doc = jsondoc.loads(text, what="configurationJson")
    except jsondoc.DocumentError as exc:
        kind = "InvalidConfigurationJson" if exc.kind == "InvalidJson" else exc.kind
        raise VisValidation(exc.message, kind) from None
    if not isinstance(doc, dict):
        raise VisValidation("configurationJson must be a JSON object (as a string)", "InvalidConfigurationJson")
    return doc


def _ci(doc: dict[str, Any], name: str) -> Any:
    for key, value in doc.items():
        if key.lower() == name.lower():
            return value
    return None


def storage_url_public(configuration_json: str | None) -> str:
    """storageUrlPublic from a vuflow configuration: top level, else the first `vuflows[]` item."""
    try:
        doc = json.loads(configuration_json or "{}")
    except ValueError:
        return ""
    if not isinstance(doc, dict):
        return ""
    value = _ci(doc, "storageUrlPublic")
    if not value:
        flows = _ci(doc, "vuflows")
        if isinstance(flows, list):
            for item in flows:
                if isinstance(item, dict) and _ci(item, "storageUrlPublic"):
                    value = _ci(item, "storageUrlPublic")
                    break
    return value if isinstance(value, str) else ""


def list_vuflows(db: Session, api_key: str) -> list[VisVuflow]:
    return list(db.scalars(select(VisVuflow).where(VisVuflow.api_key == api_key)
                           .order_by(VisVuflow.created, VisVuflow.id)))


def get_vuflow(db: Session, api_key: str, vuflow_id: str) -> VisVuflow:
    flow = db.get(VisVuflow, vuflow_id)
    if flow is None or flow.api_key != api_key:
        raise VisNotFound(f"Vuflow {vuflow_id} was not found", "VuflowNotFound", id=vuflow_id)
    return flow


def create_vuflow(db: Session, ctx: AppContext, api_key: str, *, name: str, configuration_json: str,
                  vuflow_id: str | None = None) -> VisVuflow:
    parse_configuration(configuration_json)
    if vuflow_id is not None:
        if not is_guid(vuflow_id):
            raise VisValidation(f"id '{vuflow_id}' is not a GUID", "InvalidId")
        if db.get(VisVuflow, vuflow_id) is not None:
            raise VisConflict(f"A Vuflow with id {vuflow_id} already exists; use PUT /vuflow/{vuflow_id} "
                              "to change it", "VuflowExists", id=vuflow_id)
    now = ctx.clock.now_ms()
    flow = VisVuflow(id=vuflow_id or ids.guid(), api_key=api_key, name=name,
                     configuration_json=configuration_json, created=now, modified=now)
    db.add(flow)
    db.flush()
    return flow


def update_vuflow(db: Session, ctx: AppContext, api_key: str, vuflow_id: str, *, name: str | None,
                  configuration_json: str | None) -> VisVuflow:
    flow = get_vuflow(db, api_key, vuflow_id)
    if configuration_json is not None:
        parse_configuration(configuration_json)
        flow.configuration_json = configuration_json
    if name is not None:
        flow.name = name
    flow.modified = ctx.clock.now_ms()
    return flow


def delete_vuflow(db: Session, api_key: str, vuflow_id: str) -> None:
    flow = get_vuflow(db, api_key, vuflow_id)
    in_use = db.scalar(select(func.count()).select_from(VisEvent)
                       .where(VisEvent.vuflow_id == vuflow_id, VisEvent.deleted.is_(None)))
    if in_use:
        raise VisConflict(f"Vuflow {vuflow_id} is used by {in_use} event(s); move or delete them first",
                          "VuflowInUse", eventCount=in_use)
    db.delete(flow)
