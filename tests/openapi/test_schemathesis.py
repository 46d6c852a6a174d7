"""Schemathesis against the app in-process (ASGI): the VIS and control-plane operations, with the VIS key
and the admin token. No answer may be a server error or contradict the operation's own declaration
(status, content type, body schema).

Each operation gets a fresh app over an empty database (the `db_url` fixtures wipe it per test), so a
fault rule or a reset made while fuzzing one operation never reaches another.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ADMIN_TOKEN = "schemathesis-admin-token"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Bounded so the whole file stays well under a minute in `make test`.
EXAMPLES = 12


DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"  # equal to the app's: test_document.py

schema = (schemathesis.openapi.from_path(DOCUMENT)
          .include(path_regex=r"^/(api|_lynkflow)/")
          # Waits up to the `timeout` it is given (300 s allowed): covered by tests/control/test_journal.py.
          .exclude(path="/_lynkflow/journal/wait"))


@pytest.fixture
def app(make_settings) -> Iterator[FastAPI]:
    from schemathesis.python.asgi import shutdown_lifespans

    from lynkflow.main import create_app

    yield create_app(make_settings(admin_token=ADMIN_TOKEN))
    shutdown_lifespans()  # schemathesis keeps an app's lifespan running until told otherwise


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_answers_match_their_declaration(case, app) -> None:
    headers = {"API-KEY": app.state.ctx.settings.vuflow_api_key, "Authorization": f"Bearer {ADMIN_TOKEN}"}
    print("OPLABEL", case.operation.label)
    case.call_and_validate(app=app, base_url="http://testserver", headers=headers, checks=CHECKS)
