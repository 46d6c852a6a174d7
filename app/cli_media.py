"""`lynkflow ingest`: make Uplynk assets and/or VIS events from local media files."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    pass
