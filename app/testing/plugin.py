"""pytest plugin (entry point `lynkflow`): a live lynkflow and clients for it, as fixtures.

Fixtures (all prefixed `lynkflow_`):

- `lynkflow_server` (session): one lynkflow for the whole run — a `lynkflow serve` child process on
  a free port with its own data dir; or the server named by `--lynkflow-url`; or, with
  `--lynkflow-inprocess`, the ASGI app inside the test process (httpx's ASGI transport, in-process
  workers, no port). Under pytest-xdist (`-n 4`) the controller starts one server and every worker
  uses it (each test in its own tenant, so they never see each other);
- `lynkflow_tenant`: a fresh tenant for the test (its own Uplynk owner and key, VIS key and default
  vuflow), deleted afterwards; `.id`, `.uplynk_owner`, `.uplynk_api_key`, `.vis_api_key`, `.vuflow_id`;
- `lynkflow_control`: the control-plane client, bound to the test's tenant: reset, clock, lifecycles,
  fault rules and the journal are that tenant's alone, and `assert_called(...)` checks its requests;
- `lynkflow_uplynk`: a signed api2 client for the tenant's owner;
- `lynkflow_vis`: a VIS client with the tenant's API key;
- `lynkflow_env` (session): extra environment for the server; from `--lynkflow-env KEY=VALUE`
  (repeatable) and the `lynkflow_env` ini lines. Override it in a conftest to compute values;
- `lynkflow_isolation` (session): `tenant` (the default) or `reset` — the older behaviour: the
  default accounts, and the whole instance reset before each test (no parallel runs). From
  `--lynkflow-isolation` or the `lynkflow_isolation` ini value; a conftest may override it.

Importing this module does nothing else, so test runs that never ask for these fixtures pay
nothing (the server starts on first use; under xdist, when the run starts).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from lynkflow.testing.clients import ControlClient, UplynkClient, VisClient

ISOLATIONS = ("tenant", "reset")
_SHARED_URL = "lynkflow_url"  # xdist: the controller's server, handed to each worker


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lynkflow", "lynkflow emulator fixtures")
    group.addoption("--lynkflow-env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment variable for the lynkflow test server (repeatable)")
    group.addoption("--lynkflow-url", default=None, metavar="URL",
                    help="use an already running lynkflow instead of starting one")
    group.addoption("--lynkflow-inprocess", action="store_true", default=False,
                    help="run lynkflow inside the test process (ASGI transport, no subprocess, no port)")
    group.addoption("--lynkflow-isolation", default=None, choices=ISOLATIONS,
                    help="tenant: a fresh tenant per test (default); reset: reset the whole instance per test")
    parser.addini("lynkflow_env", type="linelist", default=[],
                  help="KEY=VALUE lines of environment for the lynkflow test server")
    parser.addini("lynkflow_isolation", default="tenant", help="tenant (default) or reset")


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


def _config_env(config: pytest.Config) -> dict[str, str]:
    env = _parse_env(list(config.getini("lynkflow_env")))
    env.update(_parse_env(list(config.getoption("lynkflow_env"))))
    return env


# --- pytest-xdist: one server for every worker ---------------------------------------------------


def _xdist_controller(config: pytest.Config) -> bool:
    """The process that hands tests to xdist workers (and is not itself one)."""
    return (not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))
            and not config.getoption("lynkflow_url") and not config.getoption("lynkflow_inprocess"))


def pytest_configure(config: pytest.Config) -> None:
    if not _xdist_controller(config):
        return
    import tempfile

    from lynkflow.testing.server import LynkflowServer

    # The workers' tests may run in any order on any worker: tenants keep them apart on this one server.
    work = Path(tempfile.mkdtemp(prefix="lynkflow-xdist-"))
    server = LynkflowServer(work / "data", env=_config_env(config))
    server.start()
    config._lynkflow_shared_server = server  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    server = getattr(node.config, "_lynkflow_shared_server", None)
    if server is not None:
        node.workerinput[_SHARED_URL] = server.base_url


def pytest_unconfigure(config: pytest.Config) -> None:
    server = getattr(config, "_lynkflow_shared_server", None)
    if server is not None:
        server.stop()


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lynkflow_env(pytestconfig: pytest.Config) -> dict[str, str]:
    return _config_env(pytestconfig)


@pytest.fixture(scope="session")
def lynkflow_isolation(pytestconfig: pytest.Config) -> str:
    value = pytestconfig.getoption("lynkflow_isolation") or pytestconfig.getini("lynkflow_isolation") or "tenant"
    if value not in ISOLATIONS:
        raise pytest.UsageError(f"lynkflow_isolation must be tenant or reset, got {value!r}")
    return str(value)


class _External:
    """Stands in for LynkflowServer when the tests target a server started elsewhere."""

    transport = None

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
                    lynkflow_env: dict[str, str]) -> Iterator[Any]:
    url = pytestconfig.getoption("lynkflow_url") or getattr(pytestconfig, "workerinput", {}).get(_SHARED_URL)
    if url:
        yield _External(url, lynkflow_env)
        return
    if pytestconfig.getoption("lynkflow_inprocess"):
        from lynkflow.testing.inprocess import InProcessLynkflow

        server: Any = InProcessLynkflow(tmp_path_factory.mktemp("lynkflow") / "data", env=lynkflow_env)
    else:
        from lynkflow.testing.server import LynkflowServer

        server = LynkflowServer(tmp_path_factory.mktemp("lynkflow") / "data", env=lynkflow_env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class LynkflowTenant:
    """The credentials a test uses (a tenant's; or, under `reset` isolation, the default accounts)."""

    id: str | None
    uplynk_owner: str
    uplynk_api_key: str
    vis_api_key: str
    vuflow_id: str | None


def _admin(server: Any, tenant: str | None = None) -> ControlClient:
    from lynkflow.testing.clients import ControlClient

    return ControlClient(server.base_url, server.admin_token, tenant=tenant,
                         transport=getattr(server, "transport", None))


@pytest.fixture
def lynkflow_tenant(lynkflow_server: Any, lynkflow_isolation: str) -> Iterator[LynkflowTenant]:
    admin = _admin(lynkflow_server)
    try:
        if lynkflow_isolation == "reset":
            admin.reset()
            yield LynkflowTenant(None, lynkflow_server.uplynk_owner, lynkflow_server.uplynk_api_key,
                                 lynkflow_server.vuflow_api_key, None)
            return
        made = admin.create_tenant()
        try:
            yield LynkflowTenant(made["id"], made["uplynk"]["owner"], made["uplynk"]["apiKey"],
                                 made["vis"]["apiKey"], made["vis"]["vuflowId"])
        finally:
            admin.delete_tenant(made["id"])
    finally:
        admin.close()


@pytest.fixture
def lynkflow_control(lynkflow_server: Any, lynkflow_tenant: LynkflowTenant) -> Iterator[ControlClient]:
    control = _admin(lynkflow_server, lynkflow_tenant.id)
    try:
        yield control
    finally:
        control.close()


@pytest.fixture
def lynkflow_uplynk(lynkflow_server: Any, lynkflow_tenant: LynkflowTenant,
                    lynkflow_control: ControlClient) -> Iterator[UplynkClient]:
    from lynkflow.testing.clients import UplynkClient

    client = UplynkClient(lynkflow_server.base_url, lynkflow_tenant.uplynk_owner, lynkflow_tenant.uplynk_api_key,
                          transport=getattr(lynkflow_server, "transport", None))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def lynkflow_vis(lynkflow_server: Any, lynkflow_tenant: LynkflowTenant,
                 lynkflow_control: ControlClient) -> Iterator[VisClient]:
    from lynkflow.testing.clients import VisClient

    client = VisClient(lynkflow_server.base_url, lynkflow_tenant.vis_api_key,
                       transport=getattr(lynkflow_server, "transport", None))
    try:
        yield client
    finally:
        client.close()
