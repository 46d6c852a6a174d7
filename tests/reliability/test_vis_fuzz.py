"""A hypothesis fuzzer for the VIS: random JSON bodies (and raw bytes) over every VIS write route.

The bar: no 5xx, every refusal in the VIS exception shape, and afterwards every list still reads
(a stored row that cannot be rendered would break them: the poison row of issue 12)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.hostile import EXAMPLES, Tally, deep_json, json_values
from tests.reliability.hostile import text as hostile_text

VIS_FIELDS = ["clip", "eventId", "start", "end", "name", "fps", "width", "height", "playbackSpeed",
              "playbackRepeats", "reverse", "filename", "priority", "time", "mezzanine", "frameAccurate",
              "copyTs", "filter", "title", "configurationJson", "id", "state", "sourcePath", "mediaId",
              "contentId", "externalId", "refId", "description", "vuflowId", "tags", "channelId", "drmJson",
              "autoStart", "scheduledStart"]
QUERY_FIELDS = ["Name", "hardDelete", "states", "types", "eventId", "pageIndex", "noCache", "ProcessVideo"]
RAW_BODIES = [b"{", b"[]", b"null", b"\xff\xfe", b"1", b"\xed\xa0\x80", b'"\\ud800"', b"NaN",
              deep_json(40).encode(), deep_json(3000).encode(), b'{"title": 1' + b"0" * 400 + b"}"]
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _valid_bodies(event: str) -> dict[str, dict[str, Any]]:
    """A body each route accepts: the fuzzer starts from it and replaces some fields, so hostile values
    reach the code that stores and renders them instead of stopping at the first missing field."""
    clip = {"eventId": event, "start": "00:00:01", "end": "00:00:02"}
    event_fields = {"title": "t", "description": "d", "tags": ["a"], "externalId": "x", "channelId": None}
    return {
        "/api/vuflow/": {"name": "f", "configurationJson": "{}"},
        "/api/vuflow/{vuflow_id}": {"name": "f2", "configurationJson": {"storageUrlPublic": "http://cdn"}},
        "/api/event/": event_fields,
        "/api/event/{event_id}": event_fields,
        "/api/event/reference/{reference_id}": event_fields,
        "/api/event/state/{event_id}": {"state": "VOD_PUBLIC"},
        "/api/asset/gif/": {"clip": clip, "name": "g", "fps": 10, "width": 320, "playbackSpeed": 1.5},
        "/api/asset/video/": {"clip": clip, "name": "v", "frameAccurate": True},
        "/api/asset/image/": {"eventId": event, "time": "00:00:01", "name": "i", "width": 320},
    }


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
    event = client.post("/api/event/", json={"title": "fuzz", "refId": "ref-1"}, headers=vis_headers).json()["id"]
    flow = client.post("/api/vuflow/", json={"name": "fuzz"}, headers=vis_headers).json()["id"]
    valid = _valid_bodies(event)
    path_values = st.sampled_from([event, event, flow, "ref-1", str(uuid.UUID(int=7)), "not-a-guid", "x" * 300])
    queries = st.dictionaries(st.sampled_from(QUERY_FIELDS), st.text(max_size=20), max_size=3)
    values = json_values(VIS_FIELDS)
    # A replaced field is often text: odd text is stored and rendered, odd numbers mostly stop at the parser.
    replacements = st.one_of(hostile_text, values)
    tally = Tally("VIS fuzz")

    @st.composite
    def bodies(draw: st.DrawFn, path: str) -> Any:
        base = valid.get(path, {})
        shape = draw(st.sampled_from(["mutated", "mutated", "mutated", "random", "raw"]))
        if shape == "raw":
            return draw(st.sampled_from(RAW_BODIES))
        if shape == "random":
            return draw(st.one_of(st.dictionaries(st.sampled_from(VIS_FIELDS), values, max_size=6), values))
        keys = st.sampled_from(sorted(base)) if base else st.sampled_from(VIS_FIELDS)
        changes = draw(st.dictionaries(st.one_of(keys, st.sampled_from(VIS_FIELDS)), replacements, min_size=1,
                                       max_size=2))
        return {**base, **changes}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(routes), value=path_values, query=queries, data=st.data())
    def one_call(route: tuple[str, str], value: str, query: dict[str, str], data: st.DataObject) -> None:
        tally.cases += 1
        method, path = route
        body = data.draw(bodies(path))
        kwargs: dict[str, Any] = {"params": query, "headers": {**vis_headers, "Content-Type": "application/json"}}
        if isinstance(body, bytes):
            kwargs["content"] = body
        else:
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
