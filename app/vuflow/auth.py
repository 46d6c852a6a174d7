"""The VIS API key: `API-KEY` or `X-Auth-Key` header, checked against `vis_api_keys`.

Each key sees only its own vuflows, events and assets (the `api_key` columns).
"""

from __future__ import annotations

from fastapi import Request

from lynkflow.db.models import VisApiKey
from lynkflow.vuflow.errors import VisError

HEADERS = ("API-KEY", "X-Auth-Key")


def api_key(request: Request) -> str:
    """FastAPI dependency: the caller's key, or a 401 in the VIS shape."""
    key = next((request.headers[h].strip() for h in HEADERS if request.headers.get(h, "").strip()), None)
    if key is None:
        raise VisError(401, "Unauthorised: send your API key in the API-KEY (or X-Auth-Key) header",
                       "MissingApiKey")
    ctx = request.app.state.ctx
    with ctx.session() as db:
        known = db.get(VisApiKey, key) is not None
    if not known:
        raise VisError(401, "Unauthorised: the API key is not valid", "InvalidApiKey")
    return key
