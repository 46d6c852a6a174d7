"""The published OpenAPI document: what /openapi.json serves, and docs/openapi.json checked in beside it.

A client author reads it to call lynkflow without reading its code: every operation is summarised,
every VIS body and answer has a schema, api2 operations carry their decoded parameters, every
security scheme is used by what it protects, and the worked signing example really signs.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from lynkflow.openapi import EXAMPLE_MSG, EXAMPLE_PARAMS, EXAMPLE_SIG, EXAMPLE_TIMESTAMP

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The document as the app serves it (building it needs no database)."""
    import tempfile

    from fastapi.testclient import TestClient

    from lynkflow.config import Settings
    from lynkflow.main import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), inproc_workers=0))
        return TestClient(app).get("/openapi.json").json()  # no `with`: the app is never started


def operations(spec: dict[str, Any], prefix: str = "/") -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() if path.startswith(prefix)
            for method, op in ops.items() if method in METHODS]


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.removeprefix("#/components/schemas/")
    assert name in spec["components"]["schemas"], f"{ref} is not in components.schemas"
    return spec["components"]["schemas"][name]


def test_checked_in_document_is_what_the_app_serves(spec) -> None:
    served = json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert DOCUMENT.read_text(encoding="utf-8") == served, (
        "docs/openapi.json differs from what the app serves at /openapi.json: run `make openapi` and commit it")


def test_every_operation_has_a_summary_a_description_and_one_face_tag(spec) -> None:
    faces = {tag["name"] for tag in spec["tags"]}
    assert len(faces) == 4 and all(tag.get("description") for tag in spec["tags"])
    ops = operations(spec)
    assert len(ops) >= 130
    for method, path, op in ops:
        assert op.get("summary", "").strip(), f"{method} {path} has no summary"
        assert op.get("description", "").strip() or path.endswith((".m3u8", ".json")), f"{method} {path}"
        assert len(op.get("tags", [])) == 1 and op["tags"][0] in faces, f"{method} {path}: {op.get('tags')}"


def test_every_vis_operation_declares_each_answer_with_a_schema(spec) -> None:
    ops = operations(spec, "/api/")
    assert len(ops) == 31
    for method, path, op in ops:
        responses = op["responses"]
        assert "200" in responses and "422" not in responses, f"{method} {path}: {sorted(responses)}"
        if not path.startswith("/api/health"):
            assert {"400", "401"} <= set(responses), f"{method} {path}: {sorted(responses)}"
        for status, answer in responses.items():
            if status.startswith("4"):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/VisErrorBody"}, f"{method} {path} {status}"
            elif "content" in answer:
                assert answer["content"]["application/json"]["schema"], f"{method} {path} {status}"
            else:  # an empty body, as DELETE answers
                assert method == "DELETE", f"{method} {path} {status} has no schema"
    error = spec["components"]["schemas"]["VisErrorBody"]
    assert set(error["required"]) == {"exceptionType", "exceptionMessage", "errorType", "data"}


def test_every_vis_handler_that_reads_a_body_declares_its_schema_and_an_example(spec) -> None:
    from lynkflow.vuflow.routes import router

    with_body = {(m, "/api" + r.path) for r in router.routes if r.include_in_schema
                 and "raw" in inspect.signature(r.endpoint).parameters for m in r.methods}
    assert len(with_body) == 9
    for method, path, op in operations(spec, "/api/"):
        if (method, path) not in with_body:
            assert "requestBody" not in op, f"{method} {path} takes no body"
            continue
        media = op["requestBody"]["content"]["application/json"]
        body = resolve(spec, media["schema"])
        assert body["type"] == "object" and body["properties"], f"{method} {path}"
        assert "example" in media, f"{method} {path} has no example body"


def test_vis_bounds_come_from_the_parser_constants(spec) -> None:
    from lynkflow.vuflow.schemas import GIF_MAX_FPS, MAX_DIMENSION, MAX_PLAYBACK_SPEED

    gif = spec["components"]["schemas"]["GifRequest"]["properties"]
    fps = next(s for s in gif["fps"]["anyOf"] if s.get("type") == "integer")
    width = next(s for s in gif["width"]["anyOf"] if s.get("type") == "number")
    speed = next(s for s in gif["playbackSpeed"]["anyOf"] if s.get("type") == "number")
    assert (fps["maximum"], width["maximum"], speed["maximum"]) == (GIF_MAX_FPS, MAX_DIMENSION, MAX_PLAYBACK_SPEED)
    assert spec["components"]["schemas"]["GifRequest"]["required"] == ["clip", "name"]


def test_every_api2_operation_carries_the_signed_pair_and_its_decoded_parameters(spec) -> None:
    from lynkflow.uplynk.urls import URLS as OPERATIONS

    ops = operations(spec, "/api2/")
    assert len(ops) == 2 * len(OPERATIONS)
    for method, path, op in ops:
        if method == "GET":
            assert {p["name"] for p in op["parameters"] if p["in"] == "query"} == {"msg", "sig"}
        else:
            form = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
            assert form["required"] == ["msg", "sig"], f"{method} {path}"
        decoded = op["x-decoded-msg"]
        assert resolve(spec, decoded["schema"])["type"] == "object" and isinstance(decoded["example"], dict)
        answer = op["responses"]["200"]["content"]["application/json"]
        success, refused = (resolve(spec, s) for s in answer["schema"]["oneOf"])
        assert success["properties"]["error"]["const"] == 0 and refused["properties"]["error"]["const"] == 1
        assert refused["required"] == ["error", "msg"]
        assert answer["examples"]["success"]["value"]["error"] == 0, f"{method} {path}"


def test_every_security_scheme_is_used_by_what_it_protects(spec) -> None:
    declared = set(spec["components"]["securitySchemes"])
    used = {name for _, _, op in operations(spec) for requirement in op.get("security", []) for name in requirement}
    assert declared == used == {"visApiKey", "visAuthKey", "api2Signature", "adminBearer", "adminTokenHeader"}
    open_routes = {"/api/health/", "/api/health/version", "/_lynkflow/health", "/_lynkflow/ready"}
    expected = {"/api/": {"visApiKey", "visAuthKey"}, "/api2/": {"api2Signature"},
                "/_lynkflow/": {"adminBearer", "adminTokenHeader"}}
    for prefix, schemes in expected.items():
        for method, path, op in operations(spec, prefix):
            names = {name for requirement in op.get("security", []) for name in requirement}
            assert names == (set() if path in open_routes else schemes), f"{method} {path}: {names}"


def test_every_control_operation_with_a_body_declares_it(spec) -> None:
    bodiless = {("POST", "/_lynkflow/clock/resume"), ("POST", "/_lynkflow/clock/reset"),
                ("POST", "/_lynkflow/jobs/{job_id}/complete"), ("POST", "/_lynkflow/jobs/{job_id}/cancel"),
                ("POST", "/_lynkflow/tenants/{tenant_id}/reset"),
                ("POST", "/_lynkflow/tenants/{tenant_id}/clock/resume")}
    for method, path, op in operations(spec, "/_lynkflow/"):
        assert {"401", "403"} <= set(op["responses"]) or path in ("/_lynkflow/health", "/_lynkflow/ready")
        if method in ("POST", "PUT") and (method, path) not in bodiless:
            assert op.get("requestBody", {}).get("content"), f"{method} {path} has no body schema"
    fault = spec["paths"]["/_lynkflow/faults"]["post"]
    assert "201" in fault["responses"] and fault["requestBody"]["content"]["application/json"]["example"]


def test_the_worked_signing_example_signs_a_real_call(client, spec) -> None:
    """The msg/sig pair printed in the api2Signature scheme is accepted at its instant."""
    from lynkflow.uplynk.signature import decode_msg

    assert decode_msg(EXAMPLE_MSG) == {**EXAMPLE_PARAMS, "_owner": client.app.state.ctx.settings.uplynk_owner,
                                       "_timestamp": EXAMPLE_TIMESTAMP}
    text = spec["components"]["securitySchemes"]["api2Signature"]["description"]
    assert EXAMPLE_MSG in text and EXAMPLE_SIG in text and client.app.state.ctx.settings.uplynk_owner in text
    assert client.post("/_lynkflow/clock/freeze", json={"at": EXAMPLE_TIMESTAMP * 1000}).status_code == 200
    answer = client.post("/api2/asset/list", data={"msg": EXAMPLE_MSG, "sig": EXAMPLE_SIG}).json()
    assert answer == {"assets": [], "shared_assets": [], "error": 0}
