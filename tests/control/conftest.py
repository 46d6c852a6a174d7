"""Fixtures of the control-plane tests.

The kit tests run against a live `lynkflow serve` started by the package's own pytest plugin
(`lynkflow_*` fixtures). In the PostgreSQL pass that server gets its own schema of the test
database, so its workers never claim jobs queued by the in-process tests (and vice versa).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import BACKEND, postgres_schema_url

KIT_SCHEMA = "lynkflow_kit"


@pytest.fixture(scope="session")
def lynkflow_env(db_url: str) -> dict[str, str]:
    """Depends on db_url so the kit tests also run in the PostgreSQL pass."""
    env = {"LYNKFLOW_INPROC_WORKERS": "1", "LYNKFLOW_JOURNAL_SIZE": "2000"}
    if BACKEND == "postgres":
        env["LYNKFLOW_DATABASE_URL"] = postgres_schema_url(KIT_SCHEMA)
    return env


def await_deletes(uplynk: Any, *, since_ms: int, ts: int, seconds: float = 10) -> list[list[Any]]:
    """The `delete` changes api2 reports since `since_ms` (asked at `_timestamp=ts`, lynkflow's time),
    once there are any: autoexpire deletes in the housekeeping pass, about once a second."""
    deadline = time.monotonic() + seconds
    while True:
        changes = uplynk.call("/api2/asset/changes", start=since_ms, _timestamp=ts)["changes"]
        deletes = [c for c in changes if c[1] == "delete"]
        if deletes:
            return deletes
        assert time.monotonic() < deadline, changes
        time.sleep(0.1)
