"""`lynkflow export PATH` / `lynkflow import PATH`: whole-instance snapshots."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    pass
