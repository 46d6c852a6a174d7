"""Issue 12, failures 1–5: huge numbers, deep nesting, lone surrogates, poison rows and unbounded
bodies, each refused in the API's own shape (never a 500, never a partial write)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from lynkflow import limits
from lynkflow.domain.vis_vuflows import default_vuflow_id
from lynkflow.testing.signing import Signer
from tests.reliability.hostile import api2_call, deep, deep_json, is_internal_error, signed_text

BIG = 2**63  # one past the largest 64-bit integer


@pytest.fixture
def signer(client) -> Signer:
    s = client.app.state.ctx.settings
    return Signer(s.uplynk_owner, s.uplynk_api_key)


def refused(resp: Any, *fragments: str) -> dict[str, Any]:
    """An api2 refusal (HTTP 200, error 1) that is not the catch-all, mentioning each fragment."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["error"] == 1 and not is_internal_error(resp), body
    for fragment in fragments:
        assert fragment in body["msg"], body
    return body


def vis_refused(resp: Any, status: int, error_type: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"exceptionType", "exceptionMessage", "errorType", "data"}, body
    assert body["errorType"] == error_type, body
    return body


def control_refused(resp: Any, status: int, fragment: str) -> None:
    assert resp.status_code == status, resp.text
    assert fragment in resp.json()["error"], resp.text


# --- 1. huge integers ------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "params"), [
    ("asset/list", {"skip": BIG}),
    ("library/list", {"skip": BIG}),
    ("library/assets", {"id": "a" * 32, "skip": BIG}),
    ("cloudslicer/jobs/list", {"skip": BIG}),
    ("asset/update", {"id": "a" * 32, "autoexpire": BIG}),
    ("asset/list", {"limit": -BIG - 1}),
])
def test_api2_refuses_integers_beyond_64_bits(client, signer, op: str, params: dict) -> None:
    refused(api2_call(client, signer, f"/api2/{op}", params), "64-bit integer range")


@pytest.mark.parametrize("op", ["asset/list", "library/list", "cloudslicer/jobs/list"])
def test_api2_paging_accepts_the_largest_skip_and_refuses_longer_digit_strings(client, signer, op: str) -> None:
    answer = api2_call(client, signer, f"/api2/{op}", {"skip": limits.INT64_MAX}).json()
    assert answer["error"] == 0, answer
    refused(api2_call(client, signer, f"/api2/{op}", {"skip": "9" * 50}), "skip must be from 0 to", "a 50-digit number")


def test_api2_refuses_numbers_that_are_not_finite(client, signer) -> None:
    for token in ("1e400", "NaN", "-Infinity"):
        text = json.dumps({"_owner": signer.owner, "_timestamp": int(time.time()), "skip": 0})
        text = text.replace('"skip": 0', f'"skip": {token}')
        refused(client.post("/api2/asset/list", data=signed_text(text, signer.api_key)), "finite number")


@pytest.mark.parametrize("path", ["/_lynkflow/jobs/99999999999999999999", "/_lynkflow/jobs/3000000000"])
@pytest.mark.parametrize("suffix", ["", "/complete", "/fail", "/cancel"])
def test_control_plane_refuses_job_numbers_beyond_the_jobs_table(client, path: str, suffix: str) -> None:
    method = "GET" if not suffix else "POST"
    control_refused(client.request(method, path + suffix), 422, "less than or equal to 2147483647")


def test_control_plane_job_list_offset_and_dashboard_ids(client) -> None:
    control_refused(client.get("/_lynkflow/jobs", params={"offset": BIG}), 422, "offset")
    assert client.get("/_lynkflow/jobs", params={"offset": limits.INT64_MAX}).json()["jobs"] == []
    r = client.get("/dashboard/jobs.json", params={"ids": "99999999999999999999"})
    assert r.status_code == 400 and "1 to 2147483647" in r.json()["error"]


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"eventId": "e", "time": "00:00:01", "name": "n", "width": 1' + b"0" * 400 + b"}", "width"),
    (b'{"eventId": "e", "time": "00:00:01", "name": "n", "width": 1e400}', "width"),
    (b'{"eventId": "e", "time": "00:00:01", "name": "n", "priority": -9223372036854775809}', "priority"),
])
def test_vis_refuses_numbers_beyond_64_bits_or_not_finite(client, vis_headers, raw: bytes, field: str) -> None:
    body = vis_refused(client.post("/api/asset/image/", content=raw, headers=vis_headers), 400, "NumberOutOfRange")
    assert body["data"]["field"] == field


def test_vis_numbers_inside_64_bits_get_the_parameters_own_range(client, vis_headers) -> None:
    raw = {"eventId": "e", "time": "00:00:01", "name": "n", "width": 2**62}
    body = vis_refused(client.post("/api/asset/image/", json=raw, headers=vis_headers), 400, "InvalidField")
    assert "between 1 and 4096" in body["exceptionMessage"]


LONG_DIGITS = "9" * 5000  # past Python's own 4300-digit conversion limit


@pytest.mark.parametrize(("op", "params", "fragment"), [
    ("asset/getframe", {"id": "a" * 32, "ts": LONG_DIGITS}, "ts must be from 0 to"),
    ("asset/getthumbs", {"id": "a" * 32, "start": LONG_DIGITS}, "start must be from 0 to"),
    ("asset/getframe", {"id": "a" * 32, "ts": "00:00:" + LONG_DIGITS}, "ts must be milliseconds"),
    ("asset/changes", {"start": LONG_DIGITS}, "a 5000-digit number"),
    ("cloudslicer/jobs/create", {"source": {"url": "x"}, "args": {"trim": f"0,{LONG_DIGITS}"}}, "args.trim end"),
])
def test_api2_refuses_digit_strings_longer_than_any_64_bit_number(client, signer, op, params, fragment) -> None:
    refused(api2_call(client, signer, f"/api2/{op}", params), fragment)


def test_vis_and_control_refuse_digit_strings_longer_than_any_64_bit_number(client, vis_headers) -> None:
    event = client.post("/api/event/", json={"title": "x"}, headers=vis_headers).json()["id"]
    state = client.put(f"/api/event/state/{event}", json={"state": LONG_DIGITS}, headers=vis_headers)
    vis_refused(state, 400, "InvalidEventState")
    control_refused(client.post("/_lynkflow/clock/set", json={"at": LONG_DIGITS}), 400, "5000-digit number")


# --- 2. deep nesting -------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [33, 1000, 100_000])
def test_api2_msg_nested_too_deep_is_refused(client, signer, levels: int) -> None:
    text = f'{{"_owner": "{signer.owner}", "_timestamp": {int(time.time())}, "meta": {deep_json(levels)}}}'
    refused(client.post("/api2/asset/update", data=signed_text(text, signer.api_key)),
            f"more than {limits.MAX_JSON_DEPTH} levels deep")


def test_api2_meta_string_nested_too_deep_is_refused(client, signer) -> None:
    refused(api2_call(client, signer, "/api2/asset/update", {"id": "a" * 32, "meta": deep_json(1000)}),
            "meta nests arrays/objects more than")


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
@pytest.mark.parametrize("levels", [33, 1000, 100_000])
def test_vis_body_nested_too_deep_is_refused(client, vis_headers, levels: int, content_type: str) -> None:
    raw = ('{"title": "deep", "tags": ' + deep_json(levels) + "}").encode()
    headers = {**vis_headers, "Content-Type": content_type}
    vis_refused(client.post("/api/event/", content=raw, headers=headers), 400, "NestingTooDeep")
    assert client.get("/api/event/", headers=vis_headers).json()["totalCount"] == 0


def test_vis_body_at_the_depth_limit_is_stored_and_read_back(client, vis_headers) -> None:
    tags = deep(limits.MAX_JSON_DEPTH - 1, "t")  # the body object is the first level
    made = client.post("/api/event/", json={"title": "edge", "tags": tags}, headers=vis_headers)
    assert made.status_code == 200, made.text
    assert client.get(f"/api/event/{made.json()['id']}", headers=vis_headers).json()["tags"] == tags


def test_control_plane_bodies_nested_too_deep_are_refused(client) -> None:
    control_refused(client.post("/_lynkflow/seed", content='{"format": 1, "x": ' + deep_json(1000) + "}"), 400,
                    "levels deep")
    # A route whose body FastAPI parses itself is protected before it parses.
    control_refused(client.post("/_lynkflow/clock/set", content='{"at": ' + deep_json(5000) + "}",
                                headers={"Content-Type": "application/json"}), 400, "levels deep")
    control_refused(client.post("/_lynkflow/faults", content=deep_json(2000)), 400, "levels deep")


# --- 3. lone surrogates ----------------------------------------------------------------------


@pytest.mark.parametrize(("op", "params", "field"), [
    ("asset/update", {"id": "a" * 32, "desc": "a\ud800b"}, "desc"),
    ("asset/update", {"id": "a" * 32, "meta": {"k\udc00": "v"}}, "meta.k"),
    ("asset/list", {"search": "\udfff"}, "search"),
    ("library/create", {"desc": ["\ud800"]}, "desc[0]"),
    ("cloudslicer/jobs/create", {"source": {"url": "x"}, "args": {"external_id": "\ud83c"}}, "args.external_id"),
])
def test_api2_refuses_lone_surrogates(client, signer, op: str, params: dict, field: str) -> None:
    refused(api2_call(client, signer, f"/api2/{op}", params), field, "lone UTF-16 surrogate")


def test_api2_keeps_surrogate_pairs(client, signer) -> None:
    answer = api2_call(client, signer, "/api2/library/create", {"desc": "clips \ud83c\udfac"}).json()
    assert answer["error"] == 0 and answer["library"]["desc"] == "clips 🎬", answer


@pytest.mark.parametrize(("path", "raw"), [
    ("/api/event/", b'{"title": "a\\ud800b"}'),
    ("/api/event/", b'{"title": "t", "description": "\\udc00"}'),
    ("/api/vuflow/", b'{"name": "\\ud800"}'),
    ("/api/asset/gif/", b'{"clip": {"eventId": "e", "start": "\\ud800", "end": "x"}, "name": "n"}'),
    ("/api/event/", b'{"title": "t", "tags": {"\\ud800": 1}}'),
])
def test_vis_refuses_lone_surrogates(client, vis_headers, path: str, raw: bytes) -> None:
    body = vis_refused(client.post(path, content=raw, headers=vis_headers), 400, "InvalidText")
    assert "lone UTF-16 surrogate" in body["exceptionMessage"]


def test_vis_refuses_raw_surrogate_bytes(client, vis_headers) -> None:
    # UTF-8 encoding of U+D800, which no UTF-8 decoder accepts.
    resp = client.post("/api/event/", content=b'{"title": "\xed\xa0\x80"}', headers=vis_headers)
    assert "not UTF-8" in vis_refused(resp, 400, "InvalidJson")["exceptionMessage"]


# --- 4. no poison row -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b'{"title": "p1", "tags": ["\\ud800"]}',
    ('{"title": "p1", "tags": ' + deep_json(900) + "}").encode(),
])
def test_a_refused_event_writes_nothing_and_reads_keep_working(client, vis_headers, raw: bytes) -> None:
    made = client.post("/api/event/", json={"title": "good"}, headers=vis_headers).json()
    assert client.post("/api/event/", content=raw, headers=vis_headers).status_code == 400
    assert client.patch(f"/api/event/{made['id']}", content=raw, headers=vis_headers).status_code == 400
    listed = client.get("/api/event/", headers=vis_headers)
    assert listed.status_code == 200 and [e["title"] for e in listed.json()["results"]] == ["good"]
    one = client.get(f"/api/event/{made['id']}", headers=vis_headers)
    assert one.status_code == 200 and one.json()["tags"] is None


def test_an_answer_that_cannot_be_encoded_rolls_the_write_back(client, vis_headers, monkeypatch) -> None:
    """Whatever slips past validation, a write whose answer fails to encode leaves nothing behind."""
    from lynkflow.vuflow import routes

    monkeypatch.setattr(routes.Renderer, "event", lambda self, event: {"id": event.id, "odd": float("nan")})
    resp = client.post("/api/event/", json={"title": "never stored"}, headers=vis_headers)
    assert resp.status_code == 500 and resp.json()["errorType"] == "UnexpectedError"
    monkeypatch.undo()
    assert client.get("/api/event/", headers=vis_headers).json()["totalCount"] == 0


# --- 5. bounded bodies and text fields -----------------------------------------------------------


def _chunks(total: int, size: int = 1024 * 1024):
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b" " * n


def test_vis_body_over_the_cap_is_refused_announced_or_streamed(client, vis_headers) -> None:
    over = limits.VIS_MAX_BODY_BYTES + 1
    announced = b'{"name": "' + b"x" * over + b'"}'
    body = vis_refused(client.post("/api/vuflow/", content=announced, headers=vis_headers), 413, "RequestTooLarge")
    assert body["exceptionType"] == "PayloadTooLargeException" and str(limits.VIS_MAX_BODY_BYTES) in body[
        "exceptionMessage"]
    streamed = client.post("/api/vuflow/", content=_chunks(over), headers=vis_headers)
    vis_refused(streamed, 413, "RequestTooLarge")
    flows = [f["id"] for f in client.get("/api/vuflow/", headers=vis_headers).json()]
    assert flows == [default_vuflow_id(vis_headers["API-KEY"])]  # only the key's own default


def test_api2_body_over_the_cap_is_an_api2_refusal(client) -> None:
    resp = client.post("/api2/asset/list", content=_chunks(limits.API2_MAX_BODY_BYTES + 1),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    refused(resp, "larger than", str(limits.API2_MAX_BODY_BYTES))


def test_control_and_page_bodies_are_capped_but_uploads_are_not(client) -> None:
    control_refused(client.post("/_lynkflow/seed", content=b"{" + b" " * limits.CONTROL_MAX_BODY_BYTES + b"}"),
                    413, "larger than")
    other = client.post("/dashboard/jobs.json", content=b"x" * (limits.OTHER_MAX_BODY_BYTES + 1))
    assert other.status_code == 413 and "larger than" in other.json()["detail"]
    # The media upload streams to disk under its own cap: a body larger than every face's cap reaches it
    # and is judged as media (not refused for its size).
    big = b"\x00" * (limits.CONTROL_MAX_BODY_BYTES + 1)
    upload = client.post("/_lynkflow/ingest", files={"file": ("big.mp4", big)})
    assert upload.status_code != 413 and upload.status_code < 500, upload.text


def test_api2_msg_over_one_megabyte_in_a_multipart_field_is_read(client, signer) -> None:
    # Starlette's default would refuse a form field over 1 MB; a msg may be larger (poster images).
    import base64
    import os
    import zlib

    from lynkflow.testing.signing import sign

    text = json.dumps({"_owner": signer.owner, "_timestamp": int(time.time()), "id": "a" * 32,
                       "poster_img": base64.b64encode(os.urandom(1024 * 1024)).decode()})
    msg = base64.b64encode(zlib.compress(text.encode())).decode()
    assert len(msg) > 1024 * 1024
    resp = client.post("/api2/asset/update", files={"msg": (None, msg), "sig": (None, sign(msg, signer.api_key))})
    refused(resp, "poster_img is not an image")  # authenticated and run: the bytes are simply not a picture


@pytest.mark.parametrize(("path", "doc", "field"), [
    ("/api/event/", {"title": "t" * (limits.MAX_NAME_CHARS + 1)}, "title"),
    ("/api/event/", {"title": "t", "externalId": "e" * (limits.MAX_ID_CHARS + 1)}, "externalid"),
    ("/api/event/", {"title": "t", "description": "d" * (limits.MAX_TEXT_CHARS + 1)}, "description"),
    ("/api/event/", {"title": "t", "tags": ["x" * (limits.MAX_TEXT_CHARS + 1)]}, "tags[0]"),
    ("/api/vuflow/", {"name": "n" * (limits.MAX_NAME_CHARS + 1)}, "name"),
    ("/api/vuflow/", {"name": "n", "configurationJson": "{" + " " * limits.MAX_DOCUMENT_CHARS + "}"},
     "configurationJson"),
    ("/api/event/", {"title": "t", "k" * (limits.MAX_NAME_CHARS + 1): 1}, None),
])
def test_vis_text_fields_have_a_maximum_length(client, vis_headers, path: str, doc: dict, field: str | None) -> None:
    body = vis_refused(client.post(path, json=doc, headers=vis_headers), 400, "TextTooLong")
    assert body["data"].get("field") == field and "at most" in body["exceptionMessage"]


def test_vis_text_fields_at_their_maximum_are_stored(client, vis_headers) -> None:
    doc = {"title": "t" * limits.MAX_NAME_CHARS, "description": "d" * limits.MAX_TEXT_CHARS,
           "externalId": "e" * limits.MAX_ID_CHARS}
    made = client.post("/api/event/", json=doc, headers=vis_headers)
    assert made.status_code == 200, made.text
    got = client.get(f"/api/event/{made.json()['id']}", headers=vis_headers).json()
    assert [got[k] for k in ("title", "description", "externalId")] == list(doc.values())
    config = json.dumps({"storageUrlPublic": "http://cdn", "pad": ["p" * limits.MAX_TEXT_CHARS] * 4})
    flow = client.post("/api/vuflow/", json={"name": "big config", "configurationJson": config}, headers=vis_headers)
    assert flow.status_code == 200 and flow.json()["configurationJson"] == config


def test_api2_text_longer_than_the_limit_is_refused(client, signer) -> None:
    refused(api2_call(client, signer, "/api2/asset/update", {"id": "a" * 32, "meta": {"k": "v" * 70_000}}),
            "meta.k is 70000 characters long")


# --- the depth scan itself (pure: a table) -------------------------------------------------------


def _alternating(levels: int) -> str:
    """Objects and arrays nested `levels` deep, with brackets inside strings that must not count."""
    value: Any = 1
    for i in range(levels):
        value = [value, "]]{{"] if i % 2 else {"k": value, "s": "[[}}]"}
    return json.dumps(value)


@pytest.mark.parametrize(("text", "too_deep"), [
    ("", False), ("1", False), ("[]", False), ('{"a": "[[[[[\\"["}', False),
    (deep_json(limits.MAX_JSON_DEPTH), False), (deep_json(limits.MAX_JSON_DEPTH + 1), True),
    (_alternating(limits.MAX_JSON_DEPTH), False), (_alternating(limits.MAX_JSON_DEPTH + 1), True),
    ("[" * 100_000, True), ("[" * 10 + "]" * 3, False), ('{"a": [}]', False),
])
def test_depth_scan(text: str, too_deep: bool) -> None:
    from lynkflow.jsondoc import nesting_exceeds

    assert nesting_exceeds(text) is too_deep


def test_api2_malformed_multipart_is_an_api2_refusal(client) -> None:
    nameless_part = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
    resp = client.post("/api2/asset/list", content=nameless_part,
                       headers={"Content-Type": "multipart/form-data; boundary=b"})
    refused(resp, "the multipart form cannot be read", '"name" must be provided')
