"""Routing table of the Uplynk api2 face (/api2/...)."""

from fastapi import APIRouter

router = APIRouter(tags=["uplynk api2"])
