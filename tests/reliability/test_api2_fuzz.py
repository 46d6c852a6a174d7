"""A hypothesis fuzzer for api2: validly signed calls around random parameter objects, for every
operation. The bar: no 5xx, and no answer from api2's catch-all (an internal error is our bug, never
a refusal of the caller's input). Afterwards the owner's data must still read back."""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lynkflow.testing.signing import Signer
from lynkflow.uplynk import routes as _routes  # noqa: F401 - registers every operation
from lynkflow.uplynk.urls import URLS as OPERATIONS
from tests.reliability.hostile import EXAMPLES, Tally, api2_call, is_internal_error, json_values, plausible

API2_FIELDS = ["id", "ids", "external_id", "external_ids", "query", "search", "order", "limit", "skip", "ts",
               "start", "stop", "end", "meta", "poster_img", "autoexpire", "desc", "source", "args", "asset",
               "test_player_url", "embed_player_url", "require_drm", "require_studio_drm", "asset_id",
               "asset_ids", "library_id", "owner", "key_id", "api_key", "ignore_shared_libraries", "aaclc",
               "high_priority", "url", "trim", "beam_id", "poster_ts", "description", "username", "password",
               "key_to_toggle", "key_to_delete", "is_enabled", "permissions", "newkey"]
OPERATION_NAMES = sorted(OPERATIONS)
# How the face reads a parameter: p["x"], p.get("x"), require(p, "x"), "x" in p.
_PARAM_READ = re.compile(r"""(?:\bp\[|\bp\.get\(|require\(p,\s*)"(\w+)"|"(\w+)" in p\b""")


def _fields_of(op: str) -> list[str]:
    """The parameter names the operation's module reads, so random values land where they are used."""
    source = inspect.getsource(sys.modules[OPERATIONS[op].fn.__module__])
    return sorted({a or b for a, b in _PARAM_READ.findall(source)}) or API2_FIELDS


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    op = draw(st.sampled_from(OPERATION_NAMES))
    fields = _fields_of(op)
    keys = st.one_of(st.sampled_from(fields), st.sampled_from(API2_FIELDS), st.text(max_size=12))
    # Half plausible values (they reach the operation), half hostile ones (they test the parsers).
    return op, draw(st.dictionaries(keys, st.one_of(plausible, json_values(fields)), max_size=6))


def test_every_api2_operation_is_fuzzed_with_its_own_parameter_names() -> None:
    assert len(OPERATION_NAMES) >= 30, OPERATION_NAMES
    assert {"skip", "limit", "query"} <= set(_fields_of("asset/list"))
    assert {"desc", "meta", "autoexpire", "poster_img"} <= set(_fields_of("asset/update"))


def test_signed_random_parameters_never_cause_a_server_or_internal_error(client) -> None:
    s = client.app.state.ctx.settings
    signer = Signer(s.uplynk_owner, s.uplynk_api_key)
    tally = Tally("api2 fuzz")

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(call=calls(), method=st.sampled_from(["GET", "POST"]))
    def one_call(call: tuple[str, dict[str, Any]], method: str) -> None:
        op, params = call
        tally.cases += 1
        resp = api2_call(client, signer, f"/api2/{op}", params, method)
        what = f"{method} {op} {params!r:.300} → {resp.status_code} {resp.text[:300]}"
        if resp.status_code >= 500:
            tally.server_errors.append(what)
        elif is_internal_error(resp):
            tally.internal_errors.append(what)
        else:
            body = resp.json()
            assert resp.status_code == 200 and body["error"] in (0, 1), what
            assert body["error"] == 0 or isinstance(body.get("msg"), str), what

    one_call()
    print(tally.report())
    assert tally.server_errors == [] and tally.internal_errors == [], tally.report()
    # Whatever the fuzzer managed to store, the owner's data still reads back.
    for op in ("asset/list", "library/list", "cloudslicer/jobs/list"):
        answer = api2_call(client, signer, f"/api2/{op}", {})
        assert answer.json()["error"] == 0, (op, answer.text[:300])
