"""The api2 error shape: HTTP 200 with `{"error": 1, "msg": "..."}` (reference §1.2)."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class Api2Error(Exception):
    """Raised anywhere in the face; rendered as an api2 error answer."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


def error_response(msg: str) -> JSONResponse:
    return JSONResponse({"error": 1, "msg": msg}, status_code=200)
