"""VIS errors: the only place the VIS error body is built, and the route class that uses it.

The VIS answers errors as ``{exceptionType, exceptionMessage, errorType, data}``. `VisError.body`
builds it and `transaction_headers` echoes X-Transaction-ID; everything else that answers in the VIS
dialect calls them (routing errors in faces.py, injected faults in control/faults.py, body
caps in bodylimit.py). `VisRoute` is the route class of the VIS router only, so the shape applies to
VIS routes without touching the other faces: it catches `VisError`, FastAPI's request-validation
errors, domain errors and anything unexpected (a 500 in the same shape, never a bare traceback), and
settles the request's write session inside that handling (db/deps.py).

A route whose endpoint is marked `direct` is called straight, with the request and its path
parameters: no dependency solving, body handling or exit stacks, which cost a hot GET about as much
as its own work. Such an endpoint declares only `request` and its path parameters (which is also
what its OpenAPI operation shows) and checks the key and opens its session itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lynkflow.db.deps import settle
from lynkflow.domain.vis_errors import VisConflict, VisDomainError, VisNotFound, VisValidation
from lynkflow.logging import get_logger
from lynkflow.routeclass import DeferredRoute
from lynkflow.storage.diskfull import NO_SPACE, is_disk_full
from lynkflow.textcheck import bad_text_field

log = get_logger("vuflow")

TRANSACTION_HEADER = "X-Transaction-ID"

# The one status -> exceptionType table. The reference shows only "Exception" (for unexpected
# errors); the others follow the same .NET naming for the status (docs/parity.md, "Error bodies").
EXCEPTION_TYPES = {
    400: "ValidationException",
    401: "UnauthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    405: "MethodNotAllowedException",
    409: "ConflictException",
    413: "PayloadTooLargeException",
    429: "TooManyRequestsException",
    500: "Exception",
    503: "ServiceUnavailableException",
    504: "GatewayTimeoutException",
    507: "InsufficientStorageException",
}


class VisError(Exception):
    """An error answer in the VIS shape."""

    def __init__(self, status: int, message: str, error_type: str, data: dict[str, Any] | None = None,
                 exception_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.data = data or {}
        self.exception_type = exception_type or EXCEPTION_TYPES.get(status, "Exception")

    def body(self) -> dict[str, Any]:
        return {"exceptionType": self.exception_type, "exceptionMessage": self.message,
                "errorType": self.error_type, "data": self.data}


def bad_request(message: str, error_type: str = "ValidationError", **data: Any) -> VisError:
    return VisError(400, message, error_type, data)


def from_domain(exc: VisDomainError) -> VisError:
    status = {VisValidation: 400, VisNotFound: 404, VisConflict: 409}.get(type(exc), 400)
    return VisError(status, str(exc), exc.error_type, exc.data)


def _validation_message(exc: RequestValidationError) -> VisError:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return VisError(400, "The request is not valid: " + "; ".join(problems), "RequestValidation",
                    {"errors": problems})


def transaction_headers(transaction: str | None) -> dict[str, str]:
    """The X-Transaction-ID echo: the header to add to the answer, if the request sent one."""
    return {TRANSACTION_HEADER: transaction} if transaction is not None else {}


def error_response(err: VisError, transaction: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers={**(headers or {}),
                                                                     **transaction_headers(transaction)})


F = TypeVar("F", bound=Callable[..., Awaitable[Response]])


def direct(endpoint: F) -> F:
    """Mark an async endpoint `(request, **path_params) -> Response` that VisRoute calls straight."""
    endpoint.vis_direct = True  # type: ignore[attr-defined]
    return endpoint


class VisRoute(DeferredRoute):
    """Every VIS route answers failures in the VIS shape and echoes X-Transaction-ID."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        inner = self._direct_handler() if getattr(self.endpoint, "vis_direct", False) else super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                found = bad_text_field(request.query_params) or bad_text_field(request.path_params)
                if found:
                    field, problem = found
                    raise bad_request(f"{field} {problem}", "InvalidText", field=field)
                response = await inner(request)
                await settle(request, ok=True)
            except VisError as err:
                response = error_response(err)
            except VisDomainError as exc:
                response = error_response(from_domain(exc))
            except RequestValidationError as exc:
                response = error_response(_validation_message(exc))
            except HTTPException as exc:
                response = error_response(VisError(exc.status_code, str(exc.detail), "HttpError"))
            except Exception as exc:  # noqa: BLE001 - unexpected: still the VIS shape, and logged
                if is_disk_full(exc):
                    log.warning("VIS request refused: disk full")
                    response = error_response(VisError(507, NO_SPACE, "InsufficientStorage"))
                else:
                    log.exception("unexpected VIS error")
                    response = error_response(VisError(
                        500, f"Unable to complete {request.method} {request.url.path} because of an "
                        f"unexpected error: {exc.__class__.__name__}: {exc}", "UnexpectedError"))
            await settle(request, ok=False)  # a failed request's writes are undone (no-op after a commit)
            response.headers.update(transaction_headers(request.headers.get(TRANSACTION_HEADER)))
            return response

        return handler

    def _direct_handler(self) -> Callable[[Request], Awaitable[Response]]:
        endpoint = self.endpoint

        async def call(request: Request) -> Response:
            # Path parameters are all `str` (no convertors on VIS paths): what FastAPI would pass.
            return await endpoint(request, **request.path_params)

        return call
