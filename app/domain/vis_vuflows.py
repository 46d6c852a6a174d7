"""VIS vuflows: the configuration objects that give events their storageUrlPublic (no HTTP here)."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lynkflow import ids, jsondoc, limits
from lynkflow.context import AppContext
from lynkflow.db.models import VisEvent, VisVuflow
from lynkflow.domain.vis_errors import VisConflict, VisNotFound, VisValidation

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


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
