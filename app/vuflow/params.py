"""Request parsers of the VIS face: the JSON body and the query parameters (names in any case).

Pure translation from the VIS dialect to values and domain filters; each refusal is a VIS 400
naming the parameter and the accepted form. The routes (vuflow/routes.py) only call these.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from lynkflow import jsondoc, limits
from lynkflow.domain import vis_assets
from lynkflow.domain.vis_assets import AssetFilter
from lynkflow.domain.vis_event_queries import EventFilter
from lynkflow.domain.vis_vuflows import is_guid
from lynkflow.vuflow.casing import query_ci
from lynkflow.vuflow.errors import bad_request
from lynkflow.vuflow.times import TimeFormatError, parse_iso_ms

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


async def json_body(request: Request) -> Any:
    """FastAPI dependency: the body parsed within lynkflow.limits (None when empty)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        doc = jsondoc.loads(raw, what="The request body", long_text_fields=limits.VIS_LARGE_TEXT_FIELDS)
    except jsondoc.DocumentError as exc:
        raise bad_request(exc.message, exc.kind, **({"field": exc.field} if exc.field else {})) from None
    request.state.journal_body = doc  # the journal records this parse instead of parsing the body again
    return doc


def query(request: Request) -> dict[str, str]:
    """The query parameters keyed by lower-cased name (the VIS accepts any case)."""
    return query_ci(request.query_params)


def q_int(q: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(name.lower())
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be a whole number, got '{raw}'", "InvalidQuery", field=name) from None
    if not lo <= value <= hi:
        raise bad_request(f"{name} must be from {lo} to {hi}, got {value}", "InvalidQuery", field=name)
    return value


def q_bool(q: dict[str, str], name: str) -> bool:
    raw = (q.get(name.lower()) or "false").strip().lower()
    if raw not in ("true", "false", "1", "0", ""):
        raise bad_request(f"{name} must be true or false, got '{raw}'", "InvalidQuery", field=name)
    return raw in ("true", "1")


def q_process_video(q: dict[str, str], default: bool) -> bool:
    """`ProcessVideo=true|false` (any case of the name); absent or blank means `default`."""
    raw = q.get("processvideo")
    if raw is None or not raw.strip():
        return default
    return q_bool(q, "ProcessVideo")


def q_time(q: dict[str, str], name: str) -> int | None:
    """Epoch ms of an ISO 8601 query value: a date-time with a zone, or a bare date (UTC midnight)."""
    raw = (q.get(name.lower()) or "").strip()
    if not raw:
        return None
    text = raw + "T00:00:00Z" if _DATE_ONLY.match(raw) else raw
    try:
        return parse_iso_ms(text)
    except TimeFormatError:
        raise bad_request(f"{name} must be an ISO 8601 date-time with a zone (2024-05-01T12:00:00Z) or a date "
                          f"(2024-05-01), got '{raw}'", "InvalidQuery", field=name) from None


def q_guid(q: dict[str, str], name: str) -> str | None:
    raw = (q.get(name.lower()) or "").strip()
    if not raw:
        return None
    if not is_guid(raw):
        raise bad_request(f"{name} must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), got '{raw}'",
                          "InvalidQuery", field=name)
    return raw


def q_required(q: dict[str, str], name: str) -> str:
    value = q.get(name.lower())
    if value is None or not value.strip():
        raise bad_request(f"The {name} query parameter is required: ?{name}=...", "MissingField", field=name)
    return value


def q_order_ascending(q: dict[str, str]) -> bool:
    order = (q.get("order") or "DESC").strip().upper()
    if order not in ("ASC", "DESC"):
        raise bad_request(f"order must be ASC or DESC, got '{order}'", "InvalidQuery", field="order")
    return order == "ASC"


def event_filter(q: dict[str, str]) -> EventFilter:
    f = EventFilter(from_ms=q_time(q, "from"), to_ms=q_time(q, "to"), channel_id=q_guid(q, "channel"),
                    event_type_id=q_guid(q, "eventType"), category_id=q_guid(q, "category"))
    if f.from_ms is not None and f.to_ms is not None and f.from_ms > f.to_ms:
        raise bad_request("from must not be later than to", "InvalidQuery", field="from")
    raw_tags = q.get("tags")
    if raw_tags is not None and raw_tags.strip():
        f.tags = [t.strip() for t in raw_tags.split(",") if t.strip()]
        if not f.tags:
            raise bad_request(f"tags must be a comma-separated list of tags, got '{raw_tags}'", "InvalidQuery",
                              field="tags")
    return f


def asset_filter(q: dict[str, str], *, with_extensions: bool) -> AssetFilter:
    def text_of(name: str) -> str | None:
        value = q.get(name.lower())
        return value if value not in (None, "") else None

    event_id = text_of("eventId")
    if event_id is not None and not is_guid(event_id):  # typed guid in the seed: a typo must not read as "none"
        raise bad_request(f"eventId '{event_id}' is not a GUID; give an event's id (the `id` from GET /api/event/), "
                          "or filter by contentId", "InvalidEventId", eventId=event_id)
    f = AssetFilter(event_id=event_id, content_id=text_of("contentId"), job_id=text_of("jobId"),
                    name=text_of("name"))
    if text_of("states") is not None:
        f.states = vis_assets.parse_enum_list(q["states"], vis_assets.ASSET_STATES, "state")
    if text_of("types") is not None:
        f.types = vis_assets.parse_enum_list(q["types"], vis_assets.ASSET_TYPES, "type")
    if with_extensions and text_of("extensions") is not None:
        f.extensions = [e.strip() for e in q["extensions"].split(",") if e.strip()] or None
    return f


def asset_name(q: dict[str, str]) -> str:
    """The new name of `PUT /asset/{id}/?Name=...`."""
    name = (q.get("name") or "").strip()
    if not name:
        raise bad_request("The Name query parameter is required: PUT /asset/{id}/?Name=new name", "MissingField",
                          field="Name")
    if len(name) > limits.MAX_NAME_CHARS:
        raise bad_request(f"Name is {len(name)} characters long; it may hold at most {limits.MAX_NAME_CHARS}",
                          "TextTooLong", field="Name")
    return name
