"""Fixtures of the control-plane tests.

The kit tests run against a live `lynkflow serve` started by the package's own pytest plugin
(`lynkflow_*` fixtures). In the PostgreSQL pass that server gets its own schema of the test
database, so its workers never claim jobs queued by the in-process tests (and vice versa).
"""

from __future__ import annotations

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
