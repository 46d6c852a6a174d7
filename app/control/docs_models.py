"""OpenAPI description of the control plane (/_lynkflow): `@router.post("/reset", **docs.RESET)`.

Documentation only: the routes read their bodies by hand (so a bad one gets `{"error": ...}` with a
sentence, not a validation list), and these models describe what to send and what comes back.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from lynkflow import openapi
from lynkflow.control.faults import ACTIONS, MAX_LATENCY_MS
from lynkflow.control.journal import MAX_WAIT_SECONDS
from lynkflow.jobs.lifecycle import GROUPS
from lynkflow.jobs.queue import STATES as JOB_STATES
from lynkflow.openapi import ADMIN_SECURITY, CONTROL, DocModel


class ControlErrorBody(DocModel):
    error: str = Field(description="What went wrong and what to send instead")
    count: int | None = Field(None, description="journal/wait only: how many matching requests there were")

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {"error": "job 42 not found"}})


# --- state ----------------------------------------------------------------------------------------


class ResetRequest(DocModel):
    """`{}` resets everything (data and controls); `owner` or `visKey` resets only that one's data."""

    owner: str | None = Field(None, description="An Uplynk owner (user ID)")
    visKey: str | None = Field(None, description="A VIS API key")

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"example": {"owner": "6e6f2d736c696365722d6f776e657231"}})


class ResetResult(DocModel):
    reset: Literal["everything", "owner", "visKey"]
    owner: str | None = None
    visKey: str | None = None
    removed: dict[str, int] | None = Field(None, description="Rows removed per kind")


class SeedRequest(DocModel):
    """A seed document (`"format": 1`, owners, keys, media, assets, vuflows, events — see README), or
    `{"path": "<seed file in the data dir or the fixtures folder>"}`."""

    path: str | None = Field(None, description="A seed file inside the data dir or lynkflow's fixtures")
    format: int | None = Field(None, description="The seed format version of an inline document")

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {"path": "demo/seed.json"}})


class SeedResult(DocModel):
    seeded: dict[str, int] = Field(description="Objects created per kind")
    reset: Literal["everything"] | None = Field(None, description="reseed only")


class ImportResult(DocModel):
    imported: dict[str, Any] = Field(description="What the snapshot held")


# --- clock ----------------------------------------------------------------------------------------


class ClockState(DocModel):
    nowMs: int = Field(description="lynkflow time, epoch milliseconds")
    now: str = Field(description="The same as ISO 8601, `2024-05-01T12:00:00.000Z`")
    frozen: bool
    offsetMs: int | None = Field(description="Running clock's offset from real time (null while frozen)")

    model_config = ConfigDict(json_schema_extra={"example": {
        "nowMs": 1714564800000, "now": "2024-05-01T12:00:00.000Z", "frozen": True, "offsetMs": None}})


# --- jobs and lifecycles --------------------------------------------------------------------------


class Lifecycle(DocModel):
    mode: Literal["real", "delay", "manual"] = Field(
        "real", description="real: visible when done; delay: `seconds` later; manual: held until "
                            "POST /_lynkflow/jobs/{id}/complete")
    seconds: float = Field(0, ge=0, description="delay only: seconds to hold the finished result")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"mode": "delay", "seconds": 5}})


class Lifecycles(DocModel):
    lifecycles: dict[str, Lifecycle] = Field(description="Effective policy per group: " + ", ".join(GROUPS)
                                                         + " (and `*` when set)")


class LifecyclesRequest(DocModel):
    """Every group's policy at once; groups not named go back to `real`."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "additionalProperties": {"$ref": openapi.register(Lifecycle)},
        "example": {"gif": {"mode": "manual"}, "*": {"mode": "delay", "seconds": 3}}})


class Job(DocModel):
    id: int
    kind: str = Field(description="ingest, gif, video, image, export, ...")
    state: Literal[tuple(JOB_STATES)]  # type: ignore[valid-type]
    priority: int
    progress: float
    attempts: int
    maxAttempts: int
    lastError: str | None
    payload: dict[str, Any]
    result: Any
    cancelRequested: bool
    leaseOwner: str | None
    created: int
    started: int | None
    finished: int | None
    releaseAt: int | None


class JobList(DocModel):
    jobs: list[Job]
    total: int
    limit: int
    offset: int


class FailRequest(DocModel):
    error: str | None = Field(None, description="The failure reason the asset or event shows")

    model_config = ConfigDict(json_schema_extra={"example": {"error": "encoder crashed"}})


class IngestStarted(DocModel):
    job: Job
    mediaId: str
    uplynkAssetId: str | None
    visEventId: str | None


# --- faults, journal, explain ---------------------------------------------------------------------


class FaultRuleRequest(DocModel):
    action: Literal[tuple(ACTIONS)]  # type: ignore[valid-type]
    api: Literal["uplynk", "vuflow", "*"] = "*"
    route: str = Field("*", description="An exact path or a glob (`/api/event/*`)")
    method: str = Field("*", description="GET, POST, ... or *")
    probability: float = Field(1.0, gt=0, le=1)
    count: int | None = Field(None, ge=1, description="Hits before the rule stops; null = forever")
    status: int | None = Field(None, ge=200, le=599, description="error: the HTTP status to answer")
    message: str | None = Field(None, description="error: the message in the API's error shape")
    latencyMs: int | list[int] | None = Field(None, description=f"Milliseconds, or [min, max]; at most "
                                                                f"{MAX_LATENCY_MS}")

    tenant: str | None = Field(None, description="Only this tenant's requests (POST /_lynkflow/tenants)")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "api": "uplynk", "route": "/api2/asset/list", "action": "error", "count": 2}})


class FaultRule(FaultRuleRequest):
    id: str
    hits: int


class FaultDeleted(DocModel):
    deleted: str = Field(description="The id of the rule removed")


class FaultList(DocModel):
    faults: list[FaultRule]


class JournalPage(DocModel):
    entries: list[dict[str, Any]] = Field(description="time, api, method, route, status, durationMs, the "
                                                      "decoded api2 params or VIS body, fault, signature")
    size: int = Field(description="Entries kept (LYNKFLOW_JOURNAL_SIZE)")
    total: int = Field(description="Requests journaled since the last clear")


class JournalCount(DocModel):
    count: int


class JournalWaitRequest(DocModel):
    count: int = Field(1, ge=1, description="How many matching requests to wait for")
    timeout: float = Field(10, ge=0, le=MAX_WAIT_SECONDS, description="Seconds")
    api: Literal["uplynk", "vuflow"] | None = None
    route: str | None = None
    method: str | None = None
    status: str | None = Field(None, description="A code like 404 or a class like 4xx")
    since: int | None = None
    until: int | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "count": 2, "route": "/api2/asset/get", "timeout": 10}})


class JournalWaitResult(DocModel):
    count: int
    entries: list[dict[str, Any]]


class ExplainRequest(DocModel):
    msg: str = Field(description="Exactly as the client sent it")
    sig: str

    model_config = ConfigDict(json_schema_extra={"example": {"msg": openapi.EXAMPLE_MSG, "sig": openapi.EXAMPLE_SIG}})


class Explanation(DocModel):
    decoded: dict[str, Any] | None = Field(description="The JSON inside msg")
    owner: str | None
    expected: list[dict[str, Any]] = Field(description="The signature each of the owner's keys gives")
    sig_received: str
    sig_valid: bool
    problems: list[str] = Field(description="Every reason lynkflow would refuse the request")

    model_config = ConfigDict(extra="allow")


class HealthState(DocModel):
    status: Literal["ok"]
    version: str


class Readiness(DocModel):
    ready: bool
    checks: dict[str, bool]


# --- operations -----------------------------------------------------------------------------------

_ERRORS = {
    400: "The body or a parameter is not valid",
    401: "LYNKFLOW_ADMIN_TOKEN is set and no token was sent",
    403: "The token sent is not LYNKFLOW_ADMIN_TOKEN",
    404: "No such object",
    408: "Not enough matching requests before the timeout (`count` says how many there were)",
    409: "Conflicts with the current state",
    413: "The upload is too large",
    422: "A parameter or body of the wrong type",
    503: "Not ready",
}
_AUTH = (401, 403)


def _op(op_id: str, summary: str, description: str, ok: Any, *, errors: tuple[int, ...] = (),
        auth: bool = True, **kwargs: Any) -> dict[str, Any]:
    statuses = (*_AUTH, *errors) if auth else errors
    return openapi.operation("control_" + op_id, summary, description, tag=CONTROL,
                             security=ADMIN_SECURITY if auth else [], ok=ok,
                             errors={s: (_ERRORS[s], ControlErrorBody) for s in statuses}, **kwargs)


HEALTH = _op("health", "Is the process up?", "Always 200 while the process answers; no token needed.",
             HealthState, auth=False)
READY = _op("ready", "Can it serve the APIs?", "200 once migrated, seeded and with its workers running; 503 "
            "until then. No token needed.", Readiness, errors=(503,), auth=False)

RESET = _op("reset", "Reset state", "`{}`: all data and controls (clock, faults, journal, lifecycles); "
            "`{\"owner\"}` or `{\"visKey\"}`: only that one's data.", ResetResult, errors=(400, 404),
            body=ResetRequest, body_required=False)
SEED = _op("seed", "Apply a seed", "Adds the seed's owners, keys, media, assets, vuflows and events.", SeedResult,
           errors=(400, 404), body=SeedRequest)
RESEED = _op("reseed", "Reset everything, then seed", "The document is checked before anything is removed.",
             SeedResult, errors=(400, 404), body=SeedRequest)
SNAPSHOT_EXPORT = _op("snapshot_export", "Export a snapshot", "The database and stored files as a .tar.gz.",
                      None, ok_text="The snapshot archive (application/gzip)")
SNAPSHOT_EXPORT["responses"][200]["content"] = {"application/gzip": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}
_ARCHIVE = {"schema": {"type": "string", "format": "binary"}}
SNAPSHOT_IMPORT = _op("snapshot_import", "Import a snapshot", "Into an empty instance (409 otherwise): the archive "
                      "from GET /_lynkflow/snapshot as the raw body or the multipart field `file`.", ImportResult,
                      errors=(400, 409, 413),
                      body={"application/gzip": _ARCHIVE, "application/octet-stream": _ARCHIVE,
                            "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                               "properties": {"file": _ARCHIVE}}}})

CLOCK_READ = _op("clock_read", "Read the clock", "lynkflow time, and whether it is frozen.", ClockState)
CLOCK_FREEZE = _op("clock_freeze", "Freeze the clock", "At `at`, or at the current instant without a body.",
                   ClockState, errors=(400, 422))
CLOCK_SET = _op("clock_set", "Set the clock", "Jump to `at`; a frozen clock stays frozen.", ClockState,
                errors=(400, 422))
CLOCK_ADVANCE = _op("clock_advance", "Advance the clock", "Move by seconds + ms (frozen or running).", ClockState,
                    errors=(400, 422))
CLOCK_RESUME = _op("clock_resume", "Resume the clock", "Run again from the frozen instant.", ClockState)
CLOCK_RESET = _op("clock_reset", "Reset the clock", "Back to real time: running, no offset.", ClockState)

LIFECYCLES_READ = _op("lifecycles_read", "Read job lifecycles", "The effective policy of each job group.",
                      Lifecycles)
LIFECYCLES_REPLACE = _op("lifecycles_replace", "Replace every job lifecycle", "Groups not named go back to real.",
                         Lifecycles, errors=(400,), body=LifecyclesRequest)
LIFECYCLE_SET = _op("lifecycle_set", "Set one group's lifecycle", "For one of " + ", ".join(GROUPS) + " or *.",
                    Lifecycles, errors=(400,), body=Lifecycle)
JOBS_LIST = _op("jobs_list", "List jobs", "Newest first.", JobList, errors=(400, 422))
JOB_GET = _op("job_get", "Get a job", "One job of the queue.", Job, errors=(404, 422))
JOB_COMPLETE = _op("job_complete", "Release a held job", "Its outcome becomes visible now (manual/delay "
                   "lifecycles).", Job, errors=(404, 409, 422))
JOB_FAIL = _op("job_fail", "Fail a held job", "Its asset or event shows the failure with `error` as the reason.",
               Job, errors=(400, 404, 409, 422), body=FailRequest, body_required=False)
JOB_CANCEL = _op("job_cancel", "Cancel a job", "A queued or held job at once; a running one is asked to stop.", Job,
                 errors=(404, 422))
_INGEST_FIELDS = {
    "file": {"type": "string", "format": "binary", "description": "the media file (or send 'path')"},
    "path": {"type": "string", "description": "a file inside the media folder (LYNKFLOW_MEDIA_DIR)"},
    "target": {"type": "string", "enum": ["uplynk", "vis", "both", "media"], "default": "uplynk",
               "description": "uplynk, vis, both, or media (the media item only)"},
    "owner": {"type": "string"},
    "external_id": {"type": "string"},
    "desc": {"type": "string"},
    "meta": {"type": "string", "description": "JSON object of asset metadata"},
    "event_title": {"type": "string"},
    "vuflow_id": {"type": "string"},
    "event_id": {"type": "string"},
    "priority": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5},
}
_INGEST_FORM = {"schema": {"type": "object", "properties": _INGEST_FIELDS}}
INGEST = _op("ingest", "Ingest a media file", "A multipart `file` or a `path` in the media folder becomes an "
             "Uplynk asset and/or a VIS event; answers with the queued job.", IngestStarted, ok_status=202,
             errors=(400, 404, 413, 422),
             body={"multipart/form-data": _INGEST_FORM, "application/x-www-form-urlencoded": _INGEST_FORM})

FAULTS_LIST = _op("faults_list", "List fault rules", "Every rule with its hit count.", FaultList)
FAULT_ADD = _op("fault_add", "Add a fault rule", "Makes matching API requests fail, slow down or drop.", FaultRule,
                ok_status=201, errors=(400,), body=FaultRuleRequest)
FAULT_DELETE = _op("fault_delete", "Delete a fault rule", "By id; answers `{\"deleted\": id}`.", FaultDeleted,
                   errors=(404,))
FAULTS_CLEAR = _op("faults_clear", "Delete every fault rule", "Answers the now empty list.", FaultList)
JOURNAL_READ = _op("journal_read", "Read the request journal", "Matching entries, oldest first (the newest "
                   "`limit` of them).", JournalPage, errors=(400, 422))
JOURNAL_COUNT = _op("journal_count", "Count journaled requests", "With the same filters as reading.", JournalCount,
                    errors=(400, 422))
JOURNAL_CLEAR = _op("journal_clear", "Clear the request journal", "Answers `{\"count\": 0}`.", JournalCount)
JOURNAL_WAIT = _op("journal_wait", "Wait for journaled requests", "Until `count` matching requests are journaled "
                   "(200 with them) or the timeout passes (408).", JournalWaitResult, errors=(400, 408),
                   body=JournalWaitRequest)
EXPLAIN = _op("uplynk_explain", "Explain an api2 signature", "The decoded msg, the signature each of the owner's "
              "keys gives, and every reason lynkflow would refuse the pair. JSON or form body.", Explanation,
              errors=(400,), body={"application/json": {"schema": {"$ref": openapi.register(ExplainRequest)},
                                                        "example": openapi.example_of(ExplainRequest)},
                                   "application/x-www-form-urlencoded": {"schema": {
                                       "$ref": openapi.register(ExplainRequest)}}})


# --- tenants (lynkflow/control/tenants.py) and journal verification (lynkflow/control/verify.py) -----


class TenantRequest(DocModel):
    name: str | None = Field(None, description="A label for the tenant (shown in lists)")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"name": "test_upload"}})


class TenantUplynk(DocModel):
    owner: str = Field(description="The tenant's Uplynk owner (user ID): `_owner` of its api2 calls")
    apiKey: str | None = Field(description="Its API key (signs `msg`); null in lists")


class TenantVis(DocModel):
    apiKey: str = Field(description="Its VIS API key (the API-KEY header)")
    vuflowId: str | None = Field(description="Its default vuflow (asset URLs point at this lynkflow's storage)")


class Tenant(DocModel):
    id: str
    name: str
    created: int = Field(description="Epoch ms")
    uplynk: TenantUplynk
    vis: TenantVis
    urls: dict[str, str] | None = Field(None, description="base, api2, vis and control URLs")


class TenantList(DocModel):
    tenants: list[Tenant]


class TenantRemoved(DocModel):
    removed: dict[str, Any] = Field(description="What went, per API")
    reset: str | None = None
    deleted: str | None = None


class JournalVerifyRequest(DocModel):
    """Each param matcher is a value (equality) or one of {"equals"}, {"contains"}, {"regex"}."""

    api: str | None = Field(None, description="uplynk or vuflow")
    method: str | None = None
    route: str | None = Field(None, description="Exact path or glob")
    tenant: str | None = Field(None, description="Only this tenant's requests")
    status: str | None = Field(None, description="404 or a class like 4xx")
    signature: str | None = Field(None, description="api2 signature verdict, e.g. valid or stale-timestamp")
    params: dict[str, Any] | None = Field(None, description="Matchers on the decoded api2 msg members or the "
                                                            "VIS query and body fields")
    count: dict[str, int] | None = Field(None, description='{"exactly": N} or {"at_least": N} (default at_least 1)')

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "route": "/api2/asset/get", "params": {"id": {"regex": "^[0-9a-f]{32}$"}}, "count": {"exactly": 1}}})


class JournalVerifyResult(DocModel):
    ok: bool = Field(description="Whether the count matched")
    count: int = Field(description="How many entries matched every matcher")
    expected: dict[str, int]
    matched: list[dict[str, Any]]
    closest: list[dict[str, Any]] = Field(description="On a miss: the entries that came nearest, with what "
                                                      "did not match")


TENANT_CREATE = _op("tenant_create", "Create a tenant", "A fresh Uplynk owner with an API key and a VIS key with "
                    "a default vuflow, isolated from every other tenant.", Tenant, errors=(400,),
                    body=TenantRequest, body_required=False)
TENANT_LIST = _op("tenant_list", "List tenants", "Without their secrets.", TenantList)
TENANT_READ = _op("tenant_read", "Read a tenant", "Its credentials and URLs.", Tenant, errors=(404,))
TENANT_RESET = _op("tenant_reset", "Empty a tenant", "Its data, clock, lifecycles and fault rules go; its "
                   "credentials stay.", TenantRemoved, errors=(404,))
TENANT_DELETE = _op("tenant_delete", "Delete a tenant", "Its data and credentials.", TenantRemoved, errors=(404,))
TENANT_CLOCK_READ = _op("tenant_clock_read", "Read a tenant's clock", "The tenant's own time.", ClockState,
                        errors=(404,))
TENANT_CLOCK_FREEZE = _op("tenant_clock_freeze", "Freeze a tenant's clock", "Only its requests and jobs see it.",
                          ClockState, errors=(400, 404, 422))
TENANT_CLOCK_SET = _op("tenant_clock_set", "Set a tenant's clock", "Jump to `at`.", ClockState,
                       errors=(400, 404, 422))
TENANT_CLOCK_ADVANCE = _op("tenant_clock_advance", "Advance a tenant's clock", "By seconds + ms.", ClockState,
                           errors=(400, 404, 422))
TENANT_CLOCK_RESUME = _op("tenant_clock_resume", "Resume a tenant's clock", "Run again from its instant.",
                          ClockState, errors=(404,))
TENANT_LIFECYCLES_READ = _op("tenant_lifecycles_read", "Read a tenant's lifecycles", "Its own policies.",
                             Lifecycles, errors=(404,))
TENANT_LIFECYCLES_REPLACE = _op("tenant_lifecycles_replace", "Replace a tenant's lifecycles", "Groups not named "
                                "go back to real, for its jobs only.", Lifecycles, errors=(400, 404),
                                body=LifecyclesRequest)
TENANT_LIFECYCLE_SET = _op("tenant_lifecycle_set", "Set a tenant's lifecycle", "For its jobs only.", Lifecycles,
                           errors=(400, 404), body=Lifecycle)
TENANT_JOURNAL_CLEAR = _op("tenant_journal_clear", "Clear a tenant's journal view", "Its entries so far are "
                           "hidden from its view.", JournalCount, errors=(404,))
JOURNAL_VERIFY = _op("journal_verify", "Verify journaled requests", "Matchers on method, route and decoded "
                     "params with an expected count; on a miss, the closest entries.", JournalVerifyResult,
                     errors=(400,), body=JournalVerifyRequest)


class StubRequest(DocModel):
    """A canned answer (lynkflow/control/stubs.py)."""

    api: Literal["uplynk", "vuflow"]
    route: str = Field(description="Exact path or glob")
    method: str | None = Field(None, description="HTTP method, or * (default)")
    params: dict[str, Any] | None = Field(None, description="Matchers on the decoded params, as in journal/verify")
    status: int = Field(200, description="HTTP status of the answer")
    body: Any = Field(None, description="The answer; api2: an object (error: 0 added when missing)")
    count: int | None = Field(None, description="Answers before it is used up (null: until removed)")
    latencyMs: int | None = Field(None, description="Wait this long before answering")
    tenant: str | None = Field(None, description="Only this tenant's requests")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "api": "uplynk", "route": "/api2/asset/get", "params": {"id": "0123456789abcdef0123456789abcdef"},
        "body": {"asset": {"id": "0123456789abcdef0123456789abcdef", "state": "live"}}, "count": 1}})


class Stub(StubRequest):
    id: str
    hits: int


class StubList(DocModel):
    stubs: list[Stub]


class StubsDeleted(DocModel):
    deleted: int | str = Field(description="The id removed, or how many")


STUB_ADD = _op("stub_add", "Add a response stub", "Answers matching API requests with the given status and "
               "body.", Stub, errors=(400,), body=StubRequest)
STUBS_LIST = _op("stubs_list", "List stubs", "With hits and answers left; `tenant` narrows.", StubList)
STUB_DELETE = _op("stub_delete", "Delete a stub", "By id.", StubsDeleted, errors=(404,))
STUBS_CLEAR = _op("stubs_clear", "Delete stubs", "All, or one tenant's (`tenant`).", StubsDeleted)
