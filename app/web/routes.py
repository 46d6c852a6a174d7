"""Routes of the dashboard and players (mounted at the root by app/main.py, outside the schema).

`/` and `/dashboard/...` are the dashboard (app/web/dashboard.py), `/player5/{id}.html` the test and
embed players (app/web/players.py), `/dashboard/static/...` the dashboard's own CSS and JS.
"""

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from lynkflow.routeclass import DeferredRoute
from lynkflow.storage.paths import UnsafePath, safe_join
from lynkflow.storage.serve import content_type_for
from lynkflow.web.dashboard import router as dashboard_router
from lynkflow.web.login import router as login_router
from lynkflow.web.players import router as players_router
from lynkflow.web.templating import STATIC_DIR

router = APIRouter(route_class=DeferredRoute, include_in_schema=False)
# Included in this order by app/main.py, side by side rather than nested (see uplynk/routes.ROUTERS).
ROUTERS = (login_router, dashboard_router, players_router, router)


@router.get("/dashboard/static/{name:path}")
def static(name: str) -> FileResponse:
    try:
        target = safe_join(STATIC_DIR, name)
    except UnsafePath:
        raise HTTPException(404, "not found") from None
    if not target.is_file():
        raise HTTPException(404, "not found")
    media_type = {".css": "text/css", ".js": "text/javascript"}.get(target.suffix, content_type_for(target.name))
    return FileResponse(target, media_type=media_type, headers={"Cache-Control": "public, max-age=300"})
