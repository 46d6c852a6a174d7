"""The Uplynk face's router: the api2 URL table (app/uplynk/urls.py) and Uplynk-style playback URLs.

Every api2 operation answers GET and POST (clients use both, reference §1.3) through ONE route that
looks the operation up in the URL table: ~65 per-operation routes cost ~90 ms of FastAPI's route
analysis at start-up, and every request for any other path tried each of them, twice. Unknown
/api2/ paths answer in the api2 error shape rather than with a bare 404.

The OpenAPI document still lists each operation for GET and POST: `documented_routes` declares those
routes when the document is first built (app/openapi.py), never for serving.
"""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute

from lynkflow import openapi
from lynkflow.routeclass import DeferredRoute
from lynkflow.uplynk.assetinfo import router as assetinfo_router
from lynkflow.uplynk.dispatch import journaled_error, make_endpoint
from lynkflow.uplynk.playback import router as playback_router
from lynkflow.uplynk.urls import URLS

ENDPOINTS = {name: make_endpoint(name, op) for name, op in URLS.items()}

router = APIRouter(route_class=DeferredRoute)


@router.api_route("/api2/{name:path}", methods=["GET", "POST"], include_in_schema=False)
async def api2(request: Request) -> JSONResponse:
    # The path parameter is read from the request, not declared: FastAPI would validate it on every call.
    name: str = request.path_params["name"]
    endpoint = ENDPOINTS.get(name)
    if endpoint is None:
        known = ", ".join(sorted(URLS))
        return journaled_error(request, f"unknown api2 endpoint /api2/{name}; lynkflow implements: {known}")
    return await endpoint(request)


def documented_routes() -> list[BaseRoute]:
    """One route per operation and method, each with its own OpenAPI operation id; for the document only."""
    from lynkflow.uplynk.docs_models import api2_doc  # the documentation models: not needed to serve

    doc = APIRouter()
    for name, endpoint in sorted(ENDPOINTS.items()):
        for method in ("GET", "POST"):
            doc.add_api_route(f"/api2/{name}", endpoint, methods=[method], **api2_doc(name, method))
    return doc.routes


openapi.document_lazily(api2, documented_routes)

# The face's routers, included in this order by app/main.py: side by side, not nested in `router`,
# because FastAPI (0.165) builds the route state of a nested router as the router holding it is
# included without a prefix, only to check the paths (~10 ms of a start, and pydantic.v1 imported).
ROUTERS = (router, playback_router, assetinfo_router)
