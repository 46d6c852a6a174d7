"""The control plane under /_lynkflow (besides health and readiness): reset, seed and snapshots;
the clock; lifecycles and jobs; faults, the request journal and the signature explainer.

Every route here needs LYNKFLOW_ADMIN_TOKEN when it is set (see auth.py) and answers errors as
`{"error": "..."}` (see errors.py).
"""

from fastapi import APIRouter, Depends

from lynkflow.control import clock_routes, jobs_routes, observe_routes, state_routes, stubs, tenants, verify
from lynkflow.control.auth import require_admin
from lynkflow.control.errors import ControlRoute

PREFIX = "/_lynkflow"
# The prefix is given where the app includes this router (main.py), not here: FastAPI checks every
# route of a router included without a prefix, which for one made of routers builds each route's
# state once more only to throw it away (a twentieth of the start-up).
router = APIRouter(route_class=ControlRoute, dependencies=[Depends(require_admin)])
router.include_router(state_routes.router)
router.include_router(clock_routes.router)
router.include_router(jobs_routes.router)
router.include_router(observe_routes.router)
router.include_router(tenants.router)
router.include_router(verify.router)
router.include_router(stubs.router)
