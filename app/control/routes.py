"""Control-plane routes under /_lynkflow beyond health and readiness (reset, clock, journal...)."""

from fastapi import APIRouter

router = APIRouter(prefix="/_lynkflow", tags=["control"])
