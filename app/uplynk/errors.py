"""The api2 error shape: HTTP 200 with `{"error": 1, "msg": "..."}` (reference §1.2).

`error_body` is the only place that body is built: routing errors, injected faults and body caps
call it too.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class Api2Error(Exception):
    """Raised anywhere in the face; rendered as an api2 error answer."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


# Set on an api2 answer produced by the catch-all for an unexpected exception (our own bug). The
# body keeps the api2 shape clients parse; the header lets tests and the journal tell such an
# answer apart from a refusal of bad input, which is also `{"error": 1}`.
INTERNAL_ERROR_HEADER = "X-Lynkflow-Internal-Error"


def error_body(msg: str) -> dict[str, Any]:
    return {"error": 1, "msg": msg}


def error_response(msg: str, *, internal: bool = False) -> JSONResponse:
    headers = {INTERNAL_ERROR_HEADER: "1"} if internal else None
    return JSONResponse(error_body(msg), status_code=200, headers=headers)
