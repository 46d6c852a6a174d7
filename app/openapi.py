"""The published OpenAPI document: tags of the four faces, security schemes, documentation models.

Route files describe their operations with `openapi_extra` and `responses` built by each face's
`docs_models` module; those helpers register the request-body models here (FastAPI only collects
models it validates, and no face lets FastAPI validate a body). `install_openapi(app)` replaces the
app's `openapi()` with one that adds those models, the security schemes and the tag descriptions to
what FastAPI generates. Nothing here runs on a request except the one-off build of the document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Response
from fastapi.openapi.utils import get_openapi
from fastapi.routing import RouteContext, iter_route_contexts
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute

from lynkflow.config import DEFAULT_UPLYNK_API_KEY, DEFAULT_UPLYNK_OWNER
from lynkflow.testing.signing import sign

REF = "#/components/schemas/{model}"

# The four faces. Route declarations use these names; `TAGS` gives each its description.
UPLYNK = "Uplynk api2"
VIS = "VIS"
CONTROL = "Control plane"
PLAYBACK = "Storage, playback and web"

# Security scheme names (components.securitySchemes).
VIS_API_KEY = "visApiKey"
VIS_AUTH_KEY = "visAuthKey"
API2_SIGNATURE = "api2Signature"
ADMIN_BEARER = "adminBearer"
ADMIN_HEADER = "adminTokenHeader"

VIS_SECURITY: list[dict[str, list[str]]] = [{VIS_API_KEY: []}, {VIS_AUTH_KEY: []}]
API2_SECURITY: list[dict[str, list[str]]] = [{API2_SIGNATURE: []}]
ADMIN_SECURITY: list[dict[str, list[str]]] = [{ADMIN_BEARER: []}, {ADMIN_HEADER: []}]

# The worked signing example: fixed parameters and timestamp, signed with the documented dev account.
# `msg` is stored, not recomputed: another zlib build may compress the same JSON to other (equally
# valid) bytes, and the published document must not change with the machine that builds it.
# tests/openapi/test_document.py checks that it decodes to these parameters and is accepted.
EXAMPLE_TIMESTAMP = 1700000000
EXAMPLE_PARAMS: dict[str, Any] = {"query": "demo*", "limit": 10}
EXAMPLE_MSG = ("eNqrViosTS2qVLJSUEpJzc3XUtJRUMrJzM0sAYoYGgA58fnlealFIHmzVLM0oxRzY7NkM0szYzNTcyOjFLM0c3OgOJBtbAjS"
               "Gl+SmZtaXJKYWwDSb24ABbUA4HYb9g==")
EXAMPLE_SIG = sign(EXAMPLE_MSG, DEFAULT_UPLYNK_API_KEY)

class DocModel(BaseModel):
    """Base of the documentation models: nothing is validated with them, so pydantic builds each one
    only when the document is first built, not as the module is imported (a tenth of the start-up)."""

    model_config = ConfigDict(defer_build=True)


# (model, JSON Schema mode): request bodies are described as they are validated, answers as they are
# serialised — the modes FastAPI itself uses for the bodies and response models it handles.
_MODELS: list[tuple[type[BaseModel], str]] = []


def register(model: type[BaseModel], mode: str = "validation") -> str:
    """Add a documentation model to components.schemas; returns its `$ref`."""
    if (model, mode) not in _MODELS:
        _MODELS.append((model, mode))
    return REF.format(model=model.__name__)


def ref(model: type[BaseModel], mode: str = "validation") -> dict[str, str]:
    return {"$ref": register(model, mode)}


def _answer(description: str, model: Any, *, example: bool = False) -> dict[str, Any]:
    """A documented answer whose JSON body is `model`, by reference.

    Not FastAPI's `{"model": ...}`: for that FastAPI builds a pydantic field per model and route as the
    route is declared, and again for each router that includes it, which was a quarter of the start-up
    time; the document is built once, on its first request, and only needs the schemas then.
    """
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return {"description": description, "model": model}  # `bool`, `list[...]`: a few, as FastAPI writes them
    media: dict[str, Any] = {"schema": ref(model, "serialization")}
    if example and example_of(model) is not None:
        media["example"] = example_of(model)
    return {"description": description, "content": {"application/json": media}}


def example_of(model: Any) -> Any:
    """The `example` a documentation model carries in its json_schema_extra, if any."""
    config = getattr(model, "model_config", {})
    extra = config.get("json_schema_extra") if isinstance(config, dict) else None
    return extra.get("example") if isinstance(extra, dict) else None


def query(name: str, schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def operation(op_id: str, summary: str, description: str, *, tag: str, security: list[dict[str, list[str]]],
              ok: Any, errors: dict[int, tuple[str, Any]], ok_status: int = 200, ok_text: str = "OK",
              body: type[BaseModel] | dict[str, Any] | None = None, body_required: bool = True,
              params: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """Keyword arguments for `add_api_route` / `@router.<method>` that document one operation.

    `ok` is the success model (None: an empty body); `errors` maps each other status the operation
    can answer to (description, model); `body` is a documentation model of a JSON body, or a ready
    `content` mapping for other media types. `response_model=Any` replaces the model FastAPI would infer
    from the handler's annotation: nothing is validated or filtered, answers keep pydantic-core's fast
    serialisation (None would fall back to the slower jsonable_encoder), and the 200 schema is the
    documentation model alone.
    """
    responses: dict[int | str, Any] = {ok_status: {"description": ok_text} if ok is None else
                                           _answer(ok_text, ok, example=True)}
    for status, (text, model) in errors.items():
        responses[status] = _answer(text, model)
    extra: dict[str, Any] = {"security": security}
    if params:
        extra["parameters"] = list(params)
    if isinstance(body, dict):
        extra["requestBody"] = {"required": body_required, "content": body}
    elif body is not None:
        media: dict[str, Any] = {"schema": ref(body)}
        if example_of(body) is not None:
            media["example"] = example_of(body)
        extra["requestBody"] = {"required": body_required, "content": {"application/json": media}}
    kwargs: dict[str, Any] = {"summary": summary, "description": description, "operation_id": op_id,
                              "tags": [tag], "response_model": Any, "responses": responses, "openapi_extra": extra}
    if ok_status != 200:
        kwargs["status_code"] = ok_status
    if ok is None:
        kwargs["response_class"] = Response  # an empty body: no JSON content declared
    return kwargs


def _signature_description() -> str:
    return f"""\
Every api2 call carries two parameters, `msg` and `sig`, in the query string (GET) or an
`application/x-www-form-urlencoded` body (POST). OpenAPI cannot express the signature, so this
scheme names `sig`; each operation declares the `msg`/`sig` pair (query parameters for GET, a form
body for POST) and the parameters that go inside `msg` as a JSON Schema in its `x-decoded-msg`
extension.

How to build them:

1. Make a JSON object of the operation's parameters, plus `_owner` (your 32-hex user ID) and
   `_timestamp` (Unix time in whole seconds, UTC; lynkflow accepts ±`LYNKFLOW_TIMESTAMP_SKEW`,
   300 s by default).
2. Serialise it to JSON, compress the UTF-8 bytes with zlib (level 9 in the official sample), and
   base64-encode the result: that text is `msg`.
3. `sig` is the lowercase hex HMAC-SHA256 of the `msg` text, keyed with your API key (its raw text).
4. Send `msg=<msg>&sig=<sig>`. A `msg`/`sig` pair is accepted once (a replay is refused), so build a
   new one (fresh `_timestamp`) for every call.

Worked example with the default development account (`_owner` `{DEFAULT_UPLYNK_OWNER}`, API key
`{DEFAULT_UPLYNK_API_KEY}`) and `_timestamp` {EXAMPLE_TIMESTAMP}:

- JSON: `{{"query": "demo*", "limit": 10, "_owner": "{DEFAULT_UPLYNK_OWNER}", "_timestamp": {EXAMPLE_TIMESTAMP}}}`
- `msg`: `{EXAMPLE_MSG}`
- `sig`: `{EXAMPLE_SIG}`

(With the lynkflow clock frozen at that instant, `POST /_lynkflow/clock/freeze {{"at": {EXAMPLE_TIMESTAMP * 1000}}}`,
`POST /api2/asset/list` with this pair answers `{{"assets": [...], "shared_assets": [...], "error": 0}}`.)
`POST /_lynkflow/uplynk/explain` with any pair shows the decoded JSON, the expected signature and
every reason lynkflow would refuse it."""


def security_schemes() -> dict[str, Any]:
    return {
        VIS_API_KEY: {"type": "apiKey", "in": "header", "name": "API-KEY",
                      "description": "The VIS API key (a GUID). The default development key is "
                                     "`00000000-1111-4222-8333-444444444444` (`LYNKFLOW_VUFLOW_API_KEY`). "
                                     "Missing or unknown → 401 in the VIS error shape."},
        VIS_AUTH_KEY: {"type": "apiKey", "in": "header", "name": "X-Auth-Key",
                       "description": "The same VIS API key under the header name of the 2018 VIS docs."},
        API2_SIGNATURE: {"type": "apiKey", "in": "query", "name": "sig",
                         "description": _signature_description()},
        ADMIN_BEARER: {"type": "http", "scheme": "bearer",
                       "description": "`Authorization: Bearer <LYNKFLOW_ADMIN_TOKEN>`. Only when the server "
                                      "sets LYNKFLOW_ADMIN_TOKEN; otherwise the control plane is open. A missing "
                                      "token → 401, a wrong one → 403 (`{\"error\": \"...\"}`)."},
        ADMIN_HEADER: {"type": "apiKey", "in": "header", "name": "X-Lynkflow-Admin-Token",
                       "description": "The admin token in a header of its own, for clients that cannot set "
                                      "Authorization."},
    }


TAGS: list[dict[str, str]] = [
    {"name": UPLYNK, "description": "The Uplynk api2 integration API (`/api2/...`). Every operation answers GET "
                                    "and POST with a signed `msg`/`sig` pair (see the `api2Signature` security "
                                    "scheme) and always HTTP 200: `{..., \"error\": 0}` on success, "
                                    "`{\"error\": 1, \"msg\": \"...\"}` on failure."},
    {"name": VIS, "description": "The Vualto Vuflow Video Information Service (`/api/...`; also served at the "
                                 "root, `/asset/...`, as the seed pages write it). `API-KEY` header; JSON property "
                                 "names are matched case-insensitively; failures are 4xx `{exceptionType, "
                                 "exceptionMessage, errorType, data}`."},
    {"name": CONTROL, "description": "lynkflow's own control plane (`/_lynkflow/...`): health, reset, seed, "
                                     "snapshots, the clock, job lifecycles, fault rules, the request journal and "
                                     "the signature explainer. Errors are `{\"error\": \"...\"}`. Protected by "
                                     "LYNKFLOW_ADMIN_TOKEN when set (except health and ready)."},
    {"name": PLAYBACK, "description": "What players fetch: Uplynk-style HLS playback URLs (`/{asset}.m3u8`, "
                                      "`/ext/{owner}/{external_id}.m3u8`, ...) and the player asset info. The "
                                      "playlists point at stored files under `/storage/` (with HTTP Range); the "
                                      "dashboard `/` and the test players `/player5/{id}.html` are web pages, not "
                                      "listed here."},
]


# A route's endpoint -> the routes that stand for it in the document. A face that serves many documented
# operations from one route (api2: app/uplynk/routes.py) declares the documented routes here; they are
# built with the document, so the start-up never pays for their analysis and no request tries them.
_LAZY_ROUTES: dict[Callable[..., Any], Callable[[], list[BaseRoute]]] = {}


def document_lazily(endpoint: Callable[..., Any], routes: Callable[[], list[BaseRoute]]) -> None:
    """In the document, the route (wherever included) whose endpoint is `endpoint` is replaced by `routes()`."""
    _LAZY_ROUTES[endpoint] = routes


def _documented_routes(app: FastAPI) -> list[BaseRoute | RouteContext]:
    """The app's routes as the document lists them: each lazily documented route replaced in place."""
    found: list[BaseRoute | RouteContext] = []
    for context in iter_route_contexts(app.routes):
        make = _LAZY_ROUTES.get(getattr(context.original_route, "endpoint", None))  # type: ignore[arg-type]
        found += make() if make is not None else [context]
    return found


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=_documented_routes(app), tags=TAGS)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # Answers first, written as FastAPI writes the models it renders (no nulls); then request bodies.
    for mode, clean in (("serialization", _as_fastapi_writes), ("validation", lambda schema: schema)):
        models = [(model, "validation") for model, use in _MODELS if use == mode]
        if models:
            _, defs = models_json_schema(models, ref_template=REF)
            for name, body in defs.get("$defs", {}).items():
                schemas.setdefault(name, clean(body))
    components["securitySchemes"] = security_schemes()
    _drop_generic_validation_errors(schema)
    _drop_titles_beside_refs(schema)
    return schema


_NUMBER_BOUNDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}


def _as_fastapi_writes(value: Any) -> Any:
    """A schema as FastAPI writes the models it renders through its OpenAPI model: no null values
    (`exclude_none`) and numeric bounds as numbers with a fraction (`25.0`)."""
    if isinstance(value, dict):
        return {k: float(v) if k in _NUMBER_BOUNDS and type(v) is int else _as_fastapi_writes(v)
                for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_as_fastapi_writes(v) for v in value]
    return value


def _drop_titles_beside_refs(schema: dict[str, Any]) -> None:
    """`response_model=Any` leaves a generated "Response ..." title beside each documented `$ref`."""
    for operations in schema.get("paths", {}).values():
        for op in operations.values():
            for answer in op.get("responses", {}).values():
                for media in answer.get("content", {}).values():
                    body = media.get("schema", {})
                    if "$ref" in body and set(body) == {"$ref", "title"}:
                        del body["title"]


def _drop_generic_validation_errors(schema: dict[str, Any]) -> None:
    """FastAPI declares its own 422 for every operation with parameters. The VIS and control routes never
    answer it: their route classes turn request-validation errors into the face's own shape (a VIS 400,
    a control `{"error"}` 422 declared where it can happen), so it goes from their operations."""
    generic = "#/components/schemas/HTTPValidationError"
    for operations in schema.get("paths", {}).values():
        for op in operations.values():
            answer = op.get("responses", {}).get("422", {})
            ref_ = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
            if {VIS, CONTROL} & set(op.get("tags", ())) and ref_ == generic:
                del op["responses"]["422"]


def install_openapi(app: FastAPI) -> None:
    """Serve the full document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_text(app: FastAPI) -> str:
    """The document as checked in at docs/openapi.json: sorted keys, indent 2, a final newline."""
    import json

    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m lynkflow.openapi [PATH]`: write the document (to stdout without PATH); `make openapi`."""
    import sys
    import tempfile
    from pathlib import Path

    from lynkflow.config import Settings
    from lynkflow.main import create_app

    args = sys.argv[1:] if argv is None else argv
    with tempfile.TemporaryDirectory(prefix="lynkflow-openapi-") as tmp:
        # Building the document needs no database: the app is created, never started.
        text = document_text(create_app(Settings(data_dir=Path(tmp), inproc_workers=0)))
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
