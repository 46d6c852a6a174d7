"""Routes of the dashboard and players."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
