"""VIS event lookups beyond get/list: list filters, refId/externalId lookups, clone and force stop.

Filters on columns (refId, externalId, the key, soft deletion) run in SQL. channelId, eventTypeId,
categoryId, tags and scheduledStart are documented event fields that lynkflow keeps in the `extra`
JSON column; JSON operators differ between SQLite and PostgreSQL, so those filters run in Python after
a SQL pre-filter that can only narrow to a superset of the answer:

- the key and the deletion state (as every list);
- for a GUID filter (channel, eventType, category), the JSON text must contain the GUID (any case).
  GUID characters are never escaped in JSON, so the text match cannot miss an event that matches.

Only `id`, `created` and `extra` of the pre-filtered rows are read; the page is then cut from the
matches in Python (so `totalCount` counts every match) and only the page's rows are loaded whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, NoReturn

from sqlalchemy import Select, Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from lynkflow import ids, isodate
from lynkflow.context import AppContext
from lynkflow.db.models import VisEvent, VisVuflow
from lynkflow.db.prepared import statements
from lynkflow.domain.vis_errors import VisConflict, VisNotFound
from lynkflow.domain.vis_events import EVENT_STATES, PRE_VOD, EventPage, create_event, get_event

# Extra fields a clone must not carry over: lynkflow's own ingest diagnostics belong to the source.
_NOT_CLONED_EXTRA = {"lynkflowIngestError"}

# States a live event can be in (VIS Event States); lynkflow never creates one (no live encoders).
LIVE_STATES = {0, 1, 2, 3, 4, 24, 25}


@dataclass
class EventFilter:
    """What GET /event/ (and the refId/externalId lookups) narrow the list to; None means any."""

    from_ms: int | None = None
    to_ms: int | None = None
    channel_id: str | None = None
    event_type_id: str | None = None
    category_id: str | None = None
    tags: list[str] = field(default_factory=list)
    ref_id: str | None = None
    external_id: str | None = None

    def _extra_guids(self) -> dict[str, str]:
        pairs = {"channelId": self.channel_id, "eventTypeId": self.event_type_id, "categoryId": self.category_id}
        return {k: v for k, v in pairs.items() if v is not None}

    def needs_extra(self) -> bool:
        """Whether any filter reads the `extra` JSON (and so runs in Python)."""
        return bool(self._extra_guids() or self.tags or self.from_ms is not None or self.to_ms is not None)


def _stored_time_ms(value: Any) -> int | None:
    """Epoch ms of a stored ISO 8601 value (naive = UTC); None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return isodate.parse_iso_ms(value, naive_is_utc=True)
    except isodate.IsoDateError:
        return None


def event_time_ms(created: int, extra: dict[str, Any] | None) -> int:
    """The time From/To compare: scheduledStart when set and readable, else dateCreated."""
    scheduled = _stored_time_ms((extra or {}).get("scheduledStart"))
    return scheduled if scheduled is not None else created


def event_tags(extra: dict[str, Any] | None) -> set[str]:
    """An event's tags, lower-cased: `tags` is stored as sent, a list of strings or a comma-separated string."""
    raw = (extra or {}).get("tags")
    items: list[Any] = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return {str(t).strip().lower() for t in items if isinstance(t, str | int | float) and str(t).strip()}


def _matches(f: EventFilter, created: int, extra: dict[str, Any] | None) -> bool:
    extra = extra or {}
    for name, wanted in f._extra_guids().items():
        value = extra.get(name)
        if not isinstance(value, str) or value.strip().lower() != wanted.lower():
            return False
    if f.tags and not event_tags(extra) & {t.lower() for t in f.tags}:
        return False
    if f.from_ms is not None or f.to_ms is not None:
        at = event_time_ms(created, extra)
        if f.from_ms is not None and at < f.from_ms:
            return False
        if f.to_ms is not None and at > f.to_ms:
            return False
    return True


# What an event list shows, read as plain rows (no ORM objects): every column of the event and its
# vuflow's name, `flow_name` (NULL when it names none or that vuflow is gone), and `extra_text`, the stored
# text of `extra`: with the other columns, it names everything the row shows (the renderer remembers an
# encoded event under it; a dict is no key).
_EVENTS = VisEvent.__table__
_SHOWN = (select(*_EVENTS.columns, VisVuflow.name.label("flow_name"), cast(VisEvent.extra, Text).label("extra_text"))
          .select_from(_EVENTS.outerjoin(VisVuflow, VisVuflow.id == VisEvent.vuflow_id)))


@cache
def _page_statements(deleted: bool, ascending: bool, by_ref: bool, by_external: bool) -> tuple[Select[Any], ...]:
    """(page, count, candidates) of an event list, built once per shape: a request only binds its values
    (`api_key`, `ref_id`, `external_id`, `offset`, `limit`).

    The page's rows also carry `total`, the number of all matches: a window counted before OFFSET and
    LIMIT, so a page is one statement; `count` is needed only for a page past the last match.
    """
    where = [VisEvent.api_key == bindparam("api_key"),
             VisEvent.deleted.is_not(None) if deleted else VisEvent.deleted.is_(None)]
    if by_ref:
        where.append(VisEvent.ref_id == bindparam("ref_id"))
    if by_external:
        where.append(VisEvent.external_id == bindparam("external_id"))
    order = (VisEvent.created.asc(), VisEvent.id.asc()) if ascending else (VisEvent.created.desc(),
                                                                           VisEvent.id.desc())
    page = (_SHOWN.add_columns(func.count().over().label("total")).where(*where).order_by(*order)
            .offset(bindparam("offset")).limit(bindparam("limit")))
    count = select(func.count()).select_from(VisEvent).where(*where)
    candidates = select(VisEvent.id, VisEvent.created, VisEvent.extra).where(*where).order_by(*order)
    return page, count, candidates


_ONE = _SHOWN.where(VisEvent.id == bindparam("event_id"), VisEvent.api_key == bindparam("api_key"),
                    VisEvent.deleted.is_(None))


def event_row(db: Session, api_key: str, event_id: str) -> Any:
    """One live event of the key as a row like a list page's (what vis_events.get_event finds, and the
    same 404), in one prepared statement (db/prepared.py)."""
    rows = statements(db.get_bind()).rows(_ONE, {"event_id": event_id, "api_key": api_key})
    if not rows:
        raise VisNotFound(f"Event {event_id} was not found", "EventNotFound", id=event_id)
    return rows[0]


def find_events(db: Session, api_key: str, f: EventFilter, *, deleted: bool, page_number: int, page_size: int,
                ascending: bool) -> EventPage:
    """One page of the key's events that pass `f`, ordered by creation time; totalCount counts all matches."""
    page, count, candidates = _page_statements(deleted, ascending, f.ref_id is not None, f.external_id is not None)
    values = {"api_key": api_key, "ref_id": f.ref_id, "external_id": f.external_id}
    offset = (page_number - 1) * page_size
    if not f.needs_extra():
        # Prepared (db/prepared.py): one autocommit statement, none of the Session's or the result's layers.
        rows = statements(db.get_bind()).rows(page, {**values, "offset": offset, "limit": page_size})
        if rows or not offset:
            return EventPage(rows, rows[0].total if rows else 0, page_size)
        # A page past the last match needs the count: it and the page are read again in the session's
        # one transaction, so the count is of the matches the empty page saw.
        rows = list(db.connection().execute(page, {**values, "offset": offset, "limit": page_size}))
        return EventPage(rows, rows[0].total if rows else db.scalar(count, values) or 0, page_size)
    for guid in f._extra_guids().values():
        # Pre-filter only (see the module docstring); _matches decides on the exact field.
        candidates = candidates.where(func.lower(cast(VisEvent.extra, Text)).contains(guid.lower(), autoescape=True))
    matched = [row.id for row in db.execute(candidates, values) if _matches(f, row.created, row.extra)]
    page_ids = matched[offset:offset + page_size]
    by_id = {r.id: r for r in db.execute(_SHOWN.where(VisEvent.id.in_(page_ids)))} if page_ids else {}
    return EventPage([by_id[i] for i in page_ids], len(matched), page_size)


def is_unused(db: Session, api_key: str, *, ref_id: str | None = None, external_id: str | None = None) -> bool:
    """True when no live (not soft-deleted) event of the key has this refId / externalId."""
    where = [VisEvent.api_key == api_key, VisEvent.deleted.is_(None)]
    where.append(VisEvent.ref_id == ref_id if ref_id is not None else VisEvent.external_id == external_id)
    return db.scalar(select(VisEvent.id).where(*where).limit(1)) is None


def event_id_by_ref(db: Session, api_key: str, ref_id: str) -> str:
    """The id of the one live event with this refId; 404 when none, 409 when several."""
    found = list(db.scalars(select(VisEvent.id).where(VisEvent.api_key == api_key, VisEvent.deleted.is_(None),
                                                      VisEvent.ref_id == ref_id).order_by(VisEvent.created)))
    if not found:
        raise VisNotFound(f"No event has refId '{ref_id}'", "EventNotFound", refId=ref_id)
    if len(found) > 1:
        raise VisConflict(f"{len(found)} events have refId '{ref_id}' ({', '.join(found)}); update one of them "
                          "by id with PATCH /event/{id}", "AmbiguousReference", refId=ref_id, eventIds=found)
    return found[0]


def clone_event(db: Session, ctx: AppContext, api_key: str, event_id: str) -> VisEvent:
    """A new PRE_VOD event with the source's editable fields; new id and contentId, no recording.

    refId and externalId are not copied: they name the source's counterpart in the client's system, and
    copies would make PATCH /event/reference/{refId} ambiguous.
    """
    source = get_event(db, api_key, event_id)
    extra = {k: v for k, v in (source.extra or {}).items() if k not in _NOT_CLONED_EXTRA}
    return create_event(db, ctx, api_key, event_id=ids.guid(), title=source.title,
                        description=source.description, vuflow_id=source.vuflow_id, extra=extra, state=PRE_VOD)


def force_stop(db: Session, api_key: str, event_id: str) -> NoReturn:
    """PUT /event/forcestop/{id}: only a live event can be stopped, and lynkflow has none (409)."""
    event = get_event(db, api_key, event_id)
    state = EVENT_STATES[event.state]
    if event.state in LIVE_STATES:
        raise VisConflict(f"Event {event_id} is {state}, but lynkflow runs no live encoders, so there is no "
                          "stream to force-stop", "UnsupportedStateChange", state=state)
    raise VisConflict(f"Event {event_id} is a VOD event ({state}): only live events can be force-stopped. "
                      "To hide a VOD, set its state to VOD_PRIVATE with PUT /event/state/{id}, or delete it",
                      "EventNotLive", state=state)
