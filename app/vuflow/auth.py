"""The VIS API key: `API-KEY` or `X-Auth-Key` header, checked against `vis_api_keys`.

Each key sees only its own vuflows, events and assets (the `api_key` columns).
"""

from __future__ import annotations

from fastapi import Request

from lynkflow.db.deps import ReadDb
from lynkflow.db.models import VisApiKey
from lynkflow.vuflow.errors import VisError

HEADERS = ("API-KEY", "X-Auth-Key")


def api_key(request: Request, db: ReadDb) -> str:
    """FastAPI dependency: the caller's key, or a 401 in the VIS shape.

    It reads through the request's read session: a GET handler goes on in the same read transaction;
    before any other handler (which takes a write session) the read ends and its pooled connection
    goes back, so a request never holds two connections and a full pool cannot deadlock threads that
    each wait for a second one.
    """
    key = next((request.headers[h].strip() for h in HEADERS if request.headers.get(h, "").strip()), None)
    if key is None:
        raise VisError(401, "Unauthorised: send your API key in the API-KEY (or X-Auth-Key) header",
                       "MissingApiKey")
    known = db.get(VisApiKey, key) is not None
    if request.method != "GET":
        db.rollback()  # a write handler takes a second session: give this one's connection back first
    if not known:
        raise VisError(401, "Unauthorised: the API key is not valid", "InvalidApiKey")
    return key
