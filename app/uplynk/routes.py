"""The Uplynk face's router: the api2 URL table (app/uplynk/urls.py) and Uplynk-style playback URLs.

Every api2 operation answers GET and POST (clients use both, reference §1.3). Unknown /api2/
paths answer in the api2 error shape rather than with a bare 404.
"""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lynkflow.uplynk.assetinfo import router as assetinfo_router
from lynkflow.uplynk.dispatch import journaled_error, make_endpoint
from lynkflow.uplynk.docs_models import api2_doc
from lynkflow.uplynk.playback import router as playback_router
from lynkflow.uplynk.urls import URLS

router = APIRouter()

for _name, _op in sorted(URLS.items()):
    _endpoint = make_endpoint(_name, _op)
    # One route per method so each gets its own OpenAPI operation id.
    for _method in ("GET", "POST"):
        router.add_api_route(f"/api2/{_name}", _endpoint, methods=[_method], **api2_doc(_name, _method))


@router.api_route("/api2/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
def unknown_api2(rest: str, request: Request) -> JSONResponse:
    known = ", ".join(sorted(URLS))
    return journaled_error(request, f"unknown api2 endpoint /api2/{rest}; lynkflow implements: {known}")


router.include_router(playback_router)
router.include_router(assetinfo_router)
