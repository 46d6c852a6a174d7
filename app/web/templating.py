"""The Jinja2 environment of the dashboard and players, with the filters the templates share.

Templates live in `app/web/templates/` and are rendered on the server: `make run` needs no
front-end build step. Autoescaping is on for every `.html` template.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def format_ms(value: int | float | None) -> str:
    """Milliseconds of the lynkflow clock as a UTC date and time (what the dashboard shows)."""
    if not value:
        return "—"
    return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | int | None) -> str:
    """`83.4` → `1:23.4`; hours appear only when there are any."""
    if seconds is None:
        return "—"
    total = float(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{int(hours)}:{int(minutes):02d}:{secs:04.1f}"
    return f"{int(minutes)}:{secs:04.1f}"


def format_bytes(value: int | None) -> str:
    size = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def format_percent(value: float | None) -> str:
    """Job progress is kept in percent (0-100) by the queue."""
    return f"{max(0.0, min(100.0, float(value or 0.0))):.0f}%"


@functools.cache
def templates() -> Jinja2Templates:
    """The environment, made on the first page rendered: Jinja2 is not imported at start-up."""
    from fastapi.templating import Jinja2Templates

    made = Jinja2Templates(directory=str(TEMPLATE_DIR))
    made.env.filters["ms"] = format_ms
    made.env.filters["duration"] = format_duration
    made.env.filters["bytes"] = format_bytes
    made.env.filters["percent"] = format_percent
    return made


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates().TemplateResponse(request, name, context, status_code=status_code)
