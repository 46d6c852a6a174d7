"""Request bodies of the VIS face: shape and type checks, with messages a person can act on.

Property names are matched case-insensitively (`CIDict`). Anything that needs the database (does
the event exist, is the clip inside the recording) is checked by the domain, after these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lynkflow import limits
from lynkflow.domain.vis_assets import GIF, IMAGE, VIDEO
from lynkflow.vuflow.casing import CIDict
from lynkflow.vuflow.errors import bad_request
from lynkflow.vuflow.times import TimeFormatError, looks_like_iso, parse_offset

GIF_MAX_FPS = 50  # GIF frame delays are in 1/100 s
MAX_DIMENSION = 4096
MAX_PLAYBACK_SPEED = 16.0
GIF_DEFAULT_HEIGHT = 480


def as_object(raw: Any, what: str = "request body") -> CIDict:
    if not isinstance(raw, dict):
        raise bad_request(f"The {what} must be a JSON object", "InvalidBody")
    return CIDict(raw)


def _within(value: str, name: str, max_len: int) -> str:
    if len(value) > max_len:
        raise bad_request(f"{name} is {len(value)} characters long; it may hold at most {max_len}", "TextTooLong",
                          field=name)
    return value


def req_str(d: CIDict, name: str, where: str = "", max_len: int = limits.MAX_NAME_CHARS) -> str:
    value = d.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{where}{name} is required and must be a non-empty string", "MissingField",
                          field=f"{where}{name}")
    return _within(value.strip(), f"{where}{name}", max_len)


def opt_str(d: CIDict, name: str, where: str = "", max_len: int = limits.MAX_NAME_CHARS) -> str | None:
    value = d.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{where}{name} must be a string", "InvalidField", field=f"{where}{name}")
    return _within(value, f"{where}{name}", max_len)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise bad_request(f"{name} must be a number, not true/false", "InvalidField", field=name)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise bad_request(f"{name} must be a number, got '{value}'", "InvalidField", field=name) from None
    if not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
        raise bad_request(f"{name} must be a number", "InvalidField", field=name)
    return float(value)


def opt_int(d: CIDict, name: str, default: int, lo: int, hi: int, hint: str = "") -> int:
    value = d.get(name)
    if value is None:
        return default
    number = _number(value, name)
    if not number.is_integer() or not lo <= number <= hi:
        raise bad_request(f"{name} must be a whole number from {lo} to {hi}{hint}, got {value}",
                          "InvalidField", field=name)
    return int(number)


def opt_float(d: CIDict, name: str, default: float | None, lo: float, hi: float,
              zero_is_unset: bool = False) -> float | None:
    value = d.get(name)
    if value is None:
        return default
    number = _number(value, name)
    if zero_is_unset and number == 0:
        return default
    if not lo <= number <= hi:
        raise bad_request(f"{name} must be between {lo:g} and {hi:g}, got {value}", "InvalidField", field=name)
    return number


def opt_bool(d: CIDict, name: str, default: bool) -> bool:
    value = d.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "0", "1"):
        return value.strip().lower() in ("true", "1")
    raise bad_request(f"{name} must be true or false (or 1/0), got {value!r}", "InvalidField", field=name)


def _time_text(d: CIDict, name: str, where: str) -> str:
    text = req_str(d, name, where, limits.MAX_ID_CHARS)
    if not looks_like_iso(text):
        try:
            parse_offset(text)
        except TimeFormatError as exc:
            raise bad_request(f"{where}{name}: {exc}", "InvalidTime", field=f"{where}{name}") from None
    return text


def _priority(d: CIDict) -> int:
    return opt_int(d, "priority", 5, 1, 10, " (1 is the highest, 10 the lowest)")


@dataclass
class ParsedAsset:
    """An asset request before its times are resolved against the recording."""

    type: int
    event_id: str
    start: str
    end: str | None
    name: str
    filename: str | None
    priority: int
    params: dict[str, Any] = field(default_factory=dict)


def _clip(d: CIDict) -> tuple[str, str, str]:
    """The `clip` object of GIF and VIDEO requests: (eventId, start, end)."""
    clip = d.obj("clip")
    if clip is None:
        raise bad_request("clip is required: {\"eventId\", \"start\", \"end\"}", "MissingField", field="clip")
    return (req_str(clip, "eventId", "clip.", limits.MAX_ID_CHARS), _time_text(clip, "start", "clip."),
            _time_text(clip, "end", "clip."))


def parse_gif(raw: Any) -> ParsedAsset:
    d = as_object(raw)
    event_id, start, end = _clip(d)
    name = req_str(d, "name")
    width = opt_float(d, "width", None, 1, MAX_DIMENSION, zero_is_unset=True)
    height = opt_float(d, "height", None, 1, MAX_DIMENSION, zero_is_unset=True)
    if width is None and height is None:
        height = float(GIF_DEFAULT_HEIGHT)  # Task Engine generate_gif: no size given → height 480
    params = {
        "fps": opt_int(d, "fps", 12, 1, GIF_MAX_FPS),
        "width": width,
        "height": height,
        "playback_speed": opt_float(d, "playbackSpeed", 1.0, 0.0, MAX_PLAYBACK_SPEED),
        "playback_repeats": opt_int(d, "playbackRepeats", 0, -1, 10_000, " (-1 plays once, 0 loops forever)"),
        "reverse": opt_bool(d, "reverse", False),
    }
    return ParsedAsset(GIF, event_id, start, end, name, opt_str(d, "filename"), _priority(d), params)


def parse_video(raw: Any) -> ParsedAsset:
    d = as_object(raw)
    event_id, start, end = _clip(d)
    name = req_str(d, "name")
    params = {
        # Task Engine vodcapture defaults: frame_accurate true, copy_ts false, mezzanine false.
        "mezzanine": opt_bool(d, "mezzanine", False),
        "frame_accurate": opt_bool(d, "frameAccurate", True),
        "copy_ts": opt_bool(d, "copyTs", False),
        "filter": opt_str(d.obj("clip"), "filter", "clip.", limits.MAX_PATH_CHARS),
    }
    return ParsedAsset(VIDEO, event_id, start, end, name, opt_str(d, "filename"), _priority(d), params)


def parse_image(raw: Any) -> ParsedAsset:
    d = as_object(raw)
    event_id = req_str(d, "eventId", max_len=limits.MAX_ID_CHARS)
    t = _time_text(d, "time", "")
    name = req_str(d, "name")
    width = opt_float(d, "width", None, 1, MAX_DIMENSION, zero_is_unset=True)
    params = {"width": int(width) if width else None}
    return ParsedAsset(IMAGE, event_id, t, None, name, opt_str(d, "filename"), _priority(d), params)


# --- vuflows and events --------------------------------------------------------------------


def configuration_text(d: CIDict) -> str | None:
    """configurationJson as the string to store: a JSON string as given, or an object serialised."""
    import json

    value = d.get("configurationJson")
    if value is None:
        return None
    if isinstance(value, dict):
        value = json.dumps(value)
    if not isinstance(value, str):
        raise bad_request("configurationJson must be a JSON string (or an object)", "InvalidConfigurationJson")
    return _within(value, "configurationJson", limits.MAX_DOCUMENT_CHARS)


# Documented Event fields lynkflow stores and returns as given (no behaviour behind them).
EVENT_EXTRA_FIELDS = [
    "channelId", "remixflowId", "archiverflowId", "liveComposePlaylistId", "infrastructureProfileId",
    "eventTypeId", "roomId", "channelProfileId", "customPropertyConfigurationId", "categoryId",
    "autoStart", "autoEnd", "autoPublish", "autoStartPublications", "autoProvisionInfrastructure",
    "autoTerminateInfrastructure", "embededVodTimestamps", "capturingLive2Vod", "externalUpdateAllowed",
    "displayStart", "displayEnd", "scheduledStart", "scheduledEnd", "scheduledChannelStart",
    "scheduledChannelEnd", "publishedStart", "publishedEnd", "drmJson", "additionalStreamingOptions", "tags",
]
_EXTRA_BY_LOWER = {n.lower(): n for n in EVENT_EXTRA_FIELDS}
_EVENT_FIELDS = {"title": "title", "description": "description", "contentid": "content_id",
                 "externalid": "external_id", "refid": "ref_id", "vuflowid": "vuflow_id"}
_EVENT_FIELD_MAX = {"title": limits.MAX_NAME_CHARS, "description": limits.MAX_TEXT_CHARS}  # others: ids


@dataclass
class EventBody:
    event_id: str | None
    fields: dict[str, Any]  # model attribute → value, only those present
    extra: dict[str, Any]
    media_id: str | None = None
    source_path: str | None = None


def parse_event(raw: Any) -> EventBody:
    d = as_object(raw)
    fields: dict[str, Any] = {}
    for key, attr in _EVENT_FIELDS.items():
        if d.has(key):
            value = d.get(key)
            if value is not None and not isinstance(value, str):
                raise bad_request(f"{key} must be a string", "InvalidField", field=key)
            if value is not None:
                _within(value, key, _EVENT_FIELD_MAX.get(key, limits.MAX_ID_CHARS))
            fields[attr] = value
    extra = {_EXTRA_BY_LOWER[k.lower()]: v for k, v in d.items_except(set()).items() if k.lower() in _EXTRA_BY_LOWER}
    return EventBody(event_id=opt_str(d, "id", max_len=limits.MAX_ID_CHARS), fields=fields, extra=extra,
                     media_id=opt_str(d, "mediaId", max_len=limits.MAX_ID_CHARS),
                     source_path=opt_str(d, "sourcePath", max_len=limits.MAX_PATH_CHARS))
