"""pytest plugin (entry point `lynkflow`): a live lynkflow and clients for it, as fixtures.

Fixtures (all prefixed `lynkflow_`):

- `lynkflow_server` (session): a `lynkflow serve` child process on a free port with its own
  data dir (or the server named by `--lynkflow-url`);
- `lynkflow_control`: the control-plane client; requesting it (or either API client) resets the
  whole instance first — data, clock, faults, lifecycles and journal — so every test starts clean;
- `lynkflow_uplynk`: a signed api2 client for the default owner;
- `lynkflow_vis`: a VIS client with the default API key;
- `lynkflow_env` (session): extra environment for the server; from `--lynkflow-env KEY=VALUE`
  (repeatable) and the `lynkflow_env` ini lines. Override it in a conftest to compute values.

Importing this module does nothing else, so test runs that never ask for these fixtures pay
nothing (the server starts on first use).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from lynkflow.testing.clients import ControlClient, UplynkClient, VisClient
    from lynkflow.testing.server import LynkflowServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lynkflow", "lynkflow emulator fixtures")
    group.addoption("--lynkflow-env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment variable for the lynkflow test server (repeatable)")
    group.addoption("--lynkflow-url", default=None, metavar="URL",
                    help="use an already running lynkflow instead of starting one (it will be reset!)")
    parser.addini("lynkflow_env", type="linelist", default=[],
                  help="KEY=VALUE lines of environment for the lynkflow test server")


def _parse_env(lines: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"lynkflow env entry {line!r} must look like KEY=VALUE")
        env[key.strip()] = value.strip()
    return env


@pytest.fixture(scope="session")
def lynkflow_env(pytestconfig: pytest.Config) -> dict[str, str]:
    env = _parse_env(list(pytestconfig.getini("lynkflow_env")))
    env.update(_parse_env(list(pytestconfig.getoption("lynkflow_env"))))
    return env


class _External:
    """Stands in for LynkflowServer when the tests target a server started elsewhere."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        from lynkflow.config import DEFAULT_UPLYNK_API_KEY, DEFAULT_UPLYNK_OWNER, DEFAULT_VUFLOW_API_KEY

        self.base_url = url.rstrip("/")
        self.env = env
        self.uplynk_owner = env.get("LYNKFLOW_UPLYNK_OWNER", DEFAULT_UPLYNK_OWNER)
        self.uplynk_api_key = env.get("LYNKFLOW_UPLYNK_API_KEY", DEFAULT_UPLYNK_API_KEY)
        self.vuflow_api_key = env.get("LYNKFLOW_VUFLOW_API_KEY", DEFAULT_VUFLOW_API_KEY)
        self.admin_token = env.get("LYNKFLOW_ADMIN_TOKEN")


@pytest.fixture(scope="session")
def lynkflow_server(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory,
                    lynkflow_env: dict[str, str]) -> Iterator[LynkflowServer]:
    url = pytestconfig.getoption("lynkflow_url")
    if url:
        yield _External(url, lynkflow_env)  # type: ignore[misc]
        return
    from lynkflow.testing.server import LynkflowServer

    server = LynkflowServer(tmp_path_factory.mktemp("lynkflow") / "data", env=lynkflow_env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lynkflow_control(lynkflow_server: Any) -> Iterator[ControlClient]:
    from lynkflow.testing.clients import ControlClient

    control = ControlClient(lynkflow_server.base_url, lynkflow_server.admin_token)
    control.reset()
    try:
        yield control
    finally:
        control.close()


@pytest.fixture
def lynkflow_uplynk(lynkflow_server: Any, lynkflow_control: ControlClient) -> Iterator[UplynkClient]:
    from lynkflow.testing.clients import UplynkClient

    client = UplynkClient(lynkflow_server.base_url, lynkflow_server.uplynk_owner, lynkflow_server.uplynk_api_key)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def lynkflow_vis(lynkflow_server: Any, lynkflow_control: ControlClient) -> Iterator[VisClient]:
    from lynkflow.testing.clients import VisClient

    client = VisClient(lynkflow_server.base_url, lynkflow_server.vuflow_api_key)
    try:
        yield client
    finally:
        client.close()
