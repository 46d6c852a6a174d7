"""Admin-token protection of the control plane (LYNKFLOW_ADMIN_TOKEN).

When the token is set, every /_lynkflow route except health and readiness needs it, sent as
`Authorization: Bearer <token>` or `X-Lynkflow-Admin-Token: <token>`. Unset, the control plane is
open (the emulator's normal, local use).
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

ADMIN_HEADER = "x-lynkflow-admin-token"


def presented_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get(ADMIN_HEADER)


def require_admin(request: Request) -> None:
    """FastAPI dependency: 401 unless the configured admin token was presented."""
    expected = request.app.state.ctx.settings.admin_token
    if not expected:
        return
    given = presented_token(request)
    if given is None:
        raise HTTPException(401, "this lynkflow's control plane needs its admin token: send "
                                 "'Authorization: Bearer <LYNKFLOW_ADMIN_TOKEN>'",
                            headers={"WWW-Authenticate": "Bearer"})
    # Constant-time compare: the token guards reset and snapshot import.
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(403, "the admin token sent does not match LYNKFLOW_ADMIN_TOKEN")
