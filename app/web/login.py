"""Dashboard login when LYNKFLOW_ADMIN_TOKEN is set: a form that sets an HttpOnly session cookie.

The dashboard shows every API key and the journal shows every caller's decoded parameters, so with
a token set it needs the same token as the control plane. A browser logs in once through
`/dashboard/login`; scripts may instead send the token as the control plane takes it
(`Authorization: Bearer …` or `X-Lynkflow-Admin-Token`). Without a token the dashboard is open, as
before. Players, playback and `/storage/` URLs are not part of the dashboard: API clients receive
them and they keep working without the cookie.

The cookie holds an HMAC of a fixed label keyed with the token, not the token itself; changing the
token (a restart with another value) logs every browser out.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from lynkflow.control.auth import presented_token
from lynkflow.routeclass import DeferredRoute
from lynkflow.web.templating import render

COOKIE = "lynkflow_dashboard"
LOGIN_PATH = "/dashboard/login"

router = APIRouter(route_class=DeferredRoute, include_in_schema=False)


def _session_value(token: str) -> str:
    return hmac.new(token.encode(), b"lynkflow dashboard session v1", hashlib.sha256).hexdigest()


def _token(request: Request) -> str | None:
    return request.app.state.ctx.settings.admin_token or None


def is_logged_in(request: Request) -> bool:
    token = _token(request)
    if token is None:
        return True
    # Constant-time comparisons: both guard every API key of the instance.
    cookie = request.cookies.get(COOKIE)
    if cookie is not None and hmac.compare_digest(cookie.encode(), _session_value(token).encode()):
        return True
    given = presented_token(request)
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def require_login(request: Request) -> None:
    """FastAPI dependency of every dashboard page and JSON: a page redirects to the login form,
    JSON (polled by the page's script) answers 401."""
    if is_logged_in(request):
        return
    if request.url.path.endswith(".json"):
        raise HTTPException(401, "log in at /dashboard/login (LYNKFLOW_ADMIN_TOKEN) to read the dashboard")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise HTTPException(303, "log in first", headers={"Location": f"{LOGIN_PATH}?next={quote(target, safe='')}"})


def _safe_next(value: str | None) -> str:
    """Only a path on this site: an open redirect would make the login form a phishing aid."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _form(request: Request, next_path: str, message: str = "", status_code: int = 200) -> HTMLResponse:
    return render(request, "login.html", {"section": "", "next": next_path, "message": message,
                                          "token_set": _token(request) is not None}, status_code=status_code)


@router.get(LOGIN_PATH, response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002 - the query name
    return _form(request, _safe_next(next))


@router.post(LOGIN_PATH, response_model=None)
def login(request: Request, token: str = Form(default=""), next: str = Form(default="/")  # noqa: A002
          ) -> HTMLResponse | RedirectResponse:
    expected = _token(request)
    target = _safe_next(next)
    if expected is None:
        return RedirectResponse(target, status_code=303)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return _form(request, target, "That is not this lynkflow's admin token (LYNKFLOW_ADMIN_TOKEN).",
                     status_code=403)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, _session_value(expected), httponly=True, samesite="strict", path="/")
    return response


@router.post("/dashboard/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
