"""What a start does not do: import libraries no early request needs, analyse routes twice, collect garbage.

Start-up time is a target (DESIGN.md: start → ready ≤ 1.5× a minimal FastAPI app; bench/startup.py).
"""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
from enum import IntEnum
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.testclient import TestClient

from lynkflow import startgc
from lynkflow.routeclass import DeferredRoute

# Imported by the first request that needs them (media work, pages, S3, migrations, matchers).
LAZY = ("jinja2", "PIL", "av", "boto3", "alembic", "regex", "imageio_ffmpeg", "lynkflow.media.frames",
        "lynkflow.uplynk.docs_models",
        "sqlalchemy.dialects.postgresql",  # the app below starts on SQLite: PostgreSQL's dialect is ~36 ms
        "pydantic.v1")  # FastAPI imports it when it analyses a route (a nested router included without prefix)

_BUILD = """
import json, sys
import fastapi.routing as fr
from lynkflow.main import create_app
from lynkflow.routeclass import DeferredRoute

def routes(rs):
    for r in rs:
        if isinstance(r, fr._IncludedRouter):
            yield from routes(r.original_router.routes)
        else:
            yield r

app = create_app()
deferred = [r for r in routes(app.router.routes) if isinstance(r, DeferredRoute)]
built = {"modules": sorted(sys.modules), "deferred": len(deferred),
         "analysed": [r.path for r in deferred if r.analysed]}
from fastapi.testclient import TestClient
with TestClient(app) as client:  # the lifespan (migrate, seed, workers), then the readiness probe
    status = client.get("/_lynkflow/ready").status_code
print(json.dumps({**built, "ready": status, "modules_at_ready": sorted(sys.modules)}))
"""


def _build_app_in_fresh_process(tmp_path) -> dict:
    env = {**os.environ, "LYNKFLOW_DATA_DIR": str(tmp_path)}
    env.pop("LYNKFLOW_DATABASE_URL", None)  # the embedded default, SQLite
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", _BUILD], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_building_the_app_imports_no_lazy_library_and_analyses_no_route(tmp_path) -> None:
    built = _build_app_in_fresh_process(tmp_path)
    assert [m for m in LAZY if m in built["modules"]] == []
    assert built["deferred"] > 150  # every lynkflow router declares DeferredRoutes
    assert built["analysed"] == []  # included routers are served through their effective contexts
    assert built["ready"] == 200
    # The probe builds its router's route state first: no pydantic field there (and so no pydantic.v1).
    assert [m for m in LAZY if m in built["modules_at_ready"]] == []


class Status(IntEnum):
    CREATED = 201


def _dependency(request: Request) -> str:
    return request.headers.get("x-who", "nobody")


def _router(route_class: type) -> APIRouter:
    router = APIRouter(route_class=route_class, tags=["t"])

    @router.get("/items/{item_id}", status_code=Status.CREATED)
    def item(item_id: int, who: Annotated[str, Depends(_dependency)], q: str | None = None) -> dict[str, object]:
        """An item.\f Not in the description."""
        return {"id": item_id, "who": who, "q": q}

    @router.post("/echo", response_model=None)
    async def echo(request: Request) -> dict[str, object]:
        return {"body": (await request.body()).decode()}

    return router


def _exercise(app: FastAPI) -> list[object]:
    with TestClient(app) as client:
        answers = [client.get("/v/items/7?q=x", headers={"x-who": "me"}), client.get("/v/items/nope"),
                   client.post("/v/echo", content=b"hi"), client.delete("/v/echo"), client.get("/openapi.json")]
        return [(a.status_code, a.headers.get("allow"), a.text) for a in answers]


def test_a_deferred_route_serves_and_documents_as_an_eager_one() -> None:
    apps = []
    for route_class in (DeferredRoute, __import__("fastapi").routing.APIRoute):
        app = FastAPI()
        app.include_router(_router(route_class), prefix="/v")
        apps.append(app)
    assert _exercise(apps[0]) == _exercise(apps[1])
    deferred = [r for r in apps[0].router.routes[-1].original_router.routes]
    assert not any(r.analysed for r in deferred)  # served and documented without its own analysis


def test_a_deferred_route_served_directly_is_analysed_on_first_use() -> None:
    router = _router(DeferredRoute)
    route = router.routes[0]
    assert not route.analysed
    assert route.unique_id.startswith("item_items__item_id__get")  # read: analysed now
    assert route.analysed and route.status_code == 201 and route.description == "An item."
    app = FastAPI()
    app.router.routes.extend(router.routes)  # served directly: no inclusion, no effective contexts
    with TestClient(app) as client:
        assert client.get("/items/3", headers={"x-who": "me"}).json() == {"id": 3, "who": "me", "q": None}
        assert client.post("/echo", content=b"x").json() == {"body": "x"}


def test_start_gc_pause_and_resume() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    startgc.resume()  # not paused: leaves the collector as it is
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    try:
        startgc.pause()
        assert not gc.isenabled()
    finally:
        startgc.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen  # what the start made is frozen
    gc.unfreeze()  # the test process's own objects back to the collected generations


def test_serve_that_cannot_start_turns_the_collector_back_on(capsys: pytest.CaptureFixture[str]) -> None:
    from lynkflow.cli import main

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        assert main(["serve", "--port", str(busy.getsockname()[1])]) == 1
    finally:
        busy.close()
    assert "already in use" in capsys.readouterr().err
    assert gc.isenabled()
