"""Shared pieces of the reliability suite: signed api2 calls that may fail, the internal-error check,
hostile JSON values for the fuzzers, and the example budget (`make fuzz` raises it)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from lynkflow.testing.signing import Signer

# Examples per fuzz test: small enough for `make test`, raised by `make fuzz`.
EXAMPLES = int(os.environ.get("LYNKFLOW_FUZZ_EXAMPLES", "150"))

# api2's catch-all marks an internal error with this header (and says so in its message text).
INTERNAL_ERROR_HEADER = "X-Lynkflow-Internal-Error"
INTERNAL_ERROR_TEXT = "internal error in "


def api2_call(client: Any, signer: Signer, path: str, params: dict[str, Any], method: str = "POST") -> Any:
    """A validly signed api2 call; the response is returned whatever it is."""
    data = signer(params, timestamp=int(client.app.state.ctx.clock.now()))  # the app's (shared) clock
    return client.get(path, params=data) if method == "GET" else client.post(path, data=data)


def is_internal_error(resp: Any) -> bool:
    """An api2 answer from the catch-all (our own bug), as opposed to a refusal of bad input."""
    if resp.headers.get(INTERNAL_ERROR_HEADER):
        return True
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and str(body.get("msg", "")).startswith(INTERNAL_ERROR_TEXT)


@dataclass
class Tally:
    """What a fuzzer saw, printed at the end of the test (run with -s to read it)."""

    name: str
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)

    def report(self) -> str:
        return (f"{self.name}: {self.cases} cases, {len(self.server_errors)} 5xx, "
                f"{len(self.internal_errors)} internal errors")


# Values that have broken parsers before: 64-bit edges and beyond, huge and non-finite numbers,
# lone surrogates, NUL, long text, path-like and time-like strings.
ODD_SCALARS = [
    2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30, 10**400, -(10**400), 1e308, -1e308, 1e-320,
    float("inf"), float("-inf"), float("nan"), 0, -1, 1, 0.5,
    "", " ", "\ud800", "a\udfffb", "\x00", "x" * 70_000, "🎬é", "../../etc/passwd", "%2e%2e/", "00:00:01.5",
    "99:99:99", "2020-01-01T00:00:00Z", "-00:00:01", "NaN", "1e400", "99999999999999999999999", "{}", "[]",
    "9" * 5000, "00:00:" + "9" * 5000, "-" + "9" * 5000, "y" * 1500, "z" * 240,
    '{"a": [[[[1]]]]}', "*", "meta:x=y", "0,180000", "k=v,,,k2=v2", "http://127.0.0.1:1/x.mp4",
]

text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    st.sampled_from([s for s in ODD_SCALARS if isinstance(s, str)]),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(ODD_SCALARS), text,
)


# Values an API accepts in some field: they get past the document checks and into each operation.
plausible = st.one_of(st.integers(min_value=-1000, max_value=10**6), st.text(max_size=20), st.booleans(),
                      st.lists(st.text(max_size=8), max_size=3), st.sampled_from(["00:00:01", "a" * 32, "1,2"]))


def json_values(field_names: list[str]) -> st.SearchStrategy[Any]:
    """Any JSON value, nested a few levels, with keys drawn mostly from the API's own field names."""
    keys = st.one_of(st.sampled_from(field_names), st.text(max_size=12))
    # Odd values are drawn as often as everything else together: they are what breaks parsers.
    leaves = st.one_of(st.sampled_from(ODD_SCALARS), scalars)
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                        max_leaves=8)


def deep(levels: int, leaf: Any = 1) -> Any:
    """A value nested `levels` arrays deep (built without recursion)."""
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def deep_json(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


def signed_text(doc_text: str, api_key: str) -> dict[str, str]:
    """msg/sig around JSON text written by hand (for documents `json.dumps` itself cannot build)."""
    import base64
    import zlib

    from lynkflow.testing.signing import sign

    msg = base64.b64encode(zlib.compress(doc_text.encode(), 9)).decode()
    return {"msg": msg, "sig": sign(msg, api_key)}
