"""Routing table of the VIS face; mounted under /api and at the root."""

from fastapi import APIRouter

router = APIRouter(tags=["vuflow vis"])
