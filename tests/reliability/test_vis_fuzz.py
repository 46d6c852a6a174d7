"""A hypothesis fuzzer for the VIS: random JSON bodies (and raw bytes) over every VIS write route.

The bar: no 5xx, every refusal in the VIS exception shape, and afterwards every list still reads
(a stored row that cannot be rendered would break them: the poison row of issue 12)."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.hostile import EXAMPLES, Tally, deep_json, json_values

VIS_FIELDS = ["clip", "eventId", "start", "end", "name", "fps", "width", "height", "playbackSpeed",
              "playbackRepeats", "reverse", "filename", "priority", "time", "mezzanine", "frameAccurate",
              "copyTs", "filter", "title", "configurationJson", "id", "state", "sourcePath", "mediaId",
              "contentId", "externalId", "refId", "description", "vuflowId", "tags", "channelId", "drmJson",
              "autoStart", "scheduledStart"]
QUERY_FIELDS = ["Name", "hardDelete", "states", "types", "eventId", "pageIndex", "noCache", "ProcessVideo"]
RAW_BODIES = [b"{", b"[]", b"null", b"\xff\xfe", b"1", b"\xed\xa0\x80", b'"\\ud800"', b"NaN",
              deep_json(40).encode(), deep_json(3000).encode(), b'{"title": 1' + b"0" * 400 + b"}"]
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _write_routes(client) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return sorted((method.upper(), path) for path, ops in spec["paths"].items() if path.startswith("/api/")
                  for method in ops if method.upper() in WRITE_METHODS)


def _fill(path: str, value: str) -> str:
    while "{" in path:
        before, _, rest = path.partition("{")
        path = before + value + rest.partition("}")[2]
    return path


def test_random_bodies_never_cause_a_server_error_or_a_poison_row(client, vis_headers) -> None:
    routes = _write_routes(client)
    assert len(routes) >= 15, routes
    event = client.post("/api/event/", json={"title": "fuzz"}, headers=vis_headers).json()["id"]
    flow = client.post("/api/vuflow/", json={"name": "fuzz"}, headers=vis_headers).json()["id"]
    path_values = st.sampled_from([event, flow, str(uuid.UUID(int=7)), "not-a-guid", "x" * 300, "%F0%9F%8E%AC"])
    bodies = st.one_of(st.dictionaries(st.sampled_from(VIS_FIELDS), json_values(VIS_FIELDS), max_size=6),
                       json_values(VIS_FIELDS), st.sampled_from(RAW_BODIES))
    queries = st.dictionaries(st.sampled_from(QUERY_FIELDS), st.text(max_size=20), max_size=3)
    tally = Tally("VIS fuzz")

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(routes), value=path_values, body=bodies, query=queries)
    def one_call(route: tuple[str, str], value: str, body: Any, query: dict[str, str]) -> None:
        tally.cases += 1
        method, path = route
        kwargs: dict[str, Any] = {"params": query, "headers": {**vis_headers, "Content-Type": "application/json"}}
        if isinstance(body, bytes):
            kwargs["content"] = body
        else:
            import json

            kwargs["content"] = json.dumps(body).encode()  # NaN/Infinity tokens and \ud800 escapes included
        resp = client.request(method, _fill(path, value), **kwargs)
        what = f"{method} {path} {kwargs['content'][:300]!r} → {resp.status_code} {resp.text[:300]}"
        if resp.status_code >= 500:
            tally.server_errors.append(what)
        elif resp.status_code >= 400:
            assert set(resp.json()) == {"exceptionType", "exceptionMessage", "errorType", "data"}, what

    one_call()
    print(tally.report())
    assert tally.server_errors == [], tally.report()
    for path in ("/api/event/", "/api/event/deleted/", "/api/vuflow/", "/api/asset/"):
        listed = client.get(path, headers=vis_headers)
        assert listed.status_code == 200, (path, listed.text[:300])
    for listed_event in client.get("/api/event/", params={"pageSize": 1000}, headers=vis_headers).json()["results"]:
        one = client.get(f"/api/event/{listed_event['id']}", headers=vis_headers)
        assert one.status_code == 200, one.text[:300]
