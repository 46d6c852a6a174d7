"""Signing and transport: every variant real clients send is accepted, every bad request refused
with a message that says what is wrong (pure decoder tests, then real HTTP requests)."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import re
import time
import zlib
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import create_engine, func, select

from lynkflow.db.models import ControlReplay
from lynkflow.domain import uplynk_replay
from lynkflow.domain.uplynk_replay import PRUNE_EVERY, ReplayGuard
from lynkflow.testing.signing import sign
from lynkflow.uplynk import signature as sg

OWNER = "6e6f2d736c696365722d6f776e657231"


def _msg(doc: dict, level: int = 9) -> str:
    return base64.b64encode(zlib.compress(json.dumps(doc).encode(), level)).decode()


DOC = {"_owner": OWNER, "_timestamp": 1700000000, "id": "abc"}


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_decode_any_zlib_level(level: int) -> None:
    assert sg.decode_msg(_msg(DOC, level)) == DOC


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda m: "\n".join(m[i:i + 76] for i in range(0, len(m), 76)) + "\n", id="py2-newlines"),
        pytest.param(lambda m: m.replace("+", " "), id="plus-as-space"),
        pytest.param(lambda m: "  " + m + "\r\n", id="surrounding-whitespace"),
        pytest.param(lambda m: m.rstrip("="), id="no-padding"),
        pytest.param(lambda m: m.replace("+", "-").replace("/", "_"), id="urlsafe"),
    ],
)
def test_decode_tolerates_client_quirks(transform) -> None:
    # A long message so the base64 has '+', '/' and more than 76 characters.
    doc = {**DOC, "desc": "x" * 50 + "".join(chr(c) for c in range(200, 400))}
    msg = _msg(doc)
    assert "+" in msg or "/" in msg
    assert sg.decode_msg(transform(msg)) == doc


def test_decode_gzip_and_raw_deflate() -> None:
    raw = json.dumps(DOC).encode()
    assert sg.decode_msg(base64.b64encode(gzip.compress(raw)).decode()) == DOC
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = co.compress(raw) + co.flush()
    assert sg.decode_msg(base64.b64encode(deflated).decode()) == DOC


@pytest.mark.parametrize(
    ("msg", "fragment"),
    [
        ("", "msg is empty"),
        ("!!!notbase64$$", "not valid base64"),
        ("abcde", "not valid base64"),
        (base64.b64encode(b"plain text, not compressed").decode(), "not zlib"),
        (base64.b64encode(zlib.compress(b"[1, 2, 3]")).decode(), "JSON object, not a list"),
        (base64.b64encode(zlib.compress(b"\"a string\"")).decode(), "JSON object, not a str"),
        (base64.b64encode(zlib.compress(b"{not json")).decode(), "not contain valid JSON"),
        (base64.b64encode(zlib.compress(b"\xff\xfe")).decode(), "UTF-8"),
        (base64.b64encode(zlib.compress(b"{\"a\": 1}")[:-6]).decode(), "not zlib"),
    ],
)
def test_decode_refusals(msg: str, fragment: str) -> None:
    with pytest.raises(sg.SignatureError, match=fragment):
        sg.decode_msg(msg)


def test_zlib_bomb_refused_fast() -> None:
    bomb = base64.b64encode(zlib.compress(b"{" + b" " * (200 * 1024 * 1024) + b"}", 9)).decode()
    assert len(bomb) < 400_000  # 200 MB of JSON whitespace squeezed into a few hundred KB
    started = time.perf_counter()
    with pytest.raises(sg.SignatureError, match="more than 8 MB"):
        sg.decode_msg(bomb)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"_timestamp": 1}, "no _owner"),
        ({"_owner": 5, "_timestamp": 1}, "_owner must be a string"),
    ],
)
def test_owner_refusals(doc: dict, fragment: str) -> None:
    with pytest.raises(sg.SignatureError, match=fragment):
        sg.owner_of(doc)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(None, "no _timestamp"), ("1700000000", "must be an integer"), (1.5, "must be an integer"),
     (True, "must be an integer")],
)
def test_timestamp_refusals(value, fragment: str) -> None:
    doc = {"_owner": OWNER} if value is None else {"_owner": OWNER, "_timestamp": value}
    with pytest.raises(sg.SignatureError, match=fragment):
        sg.timestamp_of(doc)


def test_skew_window() -> None:
    sg.check_skew(1000, 1000 + 300, 300)
    sg.check_skew(1300, 1000, 300)
    with pytest.raises(sg.SignatureError, match="301 s old"):
        sg.check_skew(1000, 1301, 300)
    with pytest.raises(sg.SignatureError, match="in the future"):
        sg.check_skew(1000 + 400, 1000, 300)
    with pytest.raises(sg.SignatureError, match="not milliseconds"):
        sg.check_skew(1700000000000, 1700000000, 300)


def test_sig_variants_and_multiple_keys() -> None:
    msg = _msg(DOC)
    sig = sign(msg, "k2")
    assert sg.sig_matches(msg, sig, ["k1", "k2"])
    assert sg.sig_matches(msg, sig.upper(), ["k2"])
    assert sg.sig_matches(msg, f" {sig}\n", ["k2"])
    assert not sg.sig_matches(msg, sig, ["k1"])
    assert not sg.sig_matches(msg, "0" * 64, ["k1", "k2"])
    # Signed with '+', received with ' ' (an unencoded form body): still the client's signature.
    plus = next(m for m in (_msg({**DOC, "n": i}) for i in range(200)) if "+" in m)
    assert sg.sig_matches(plus.replace("+", " "), sign(plus, "k1"), ["k1"])


def test_replay_guard_window_and_pruning(ctx) -> None:
    g = ReplayGuard(ctx.engine)
    assert not g.seen_before("m", "s", 100_000, 300_000)
    assert g.seen_before("m", "S ", 150_000, 300_000)  # same pair, hex case and whitespace ignored
    assert not g.seen_before("m", "s", 500_000, 300_000)  # outside the window: forgotten, remembered anew
    assert g.seen_before("m", "s", 600_000, 300_000)
    with ctx.engine.connect() as conn:
        for i in range(3 * PRUNE_EVERY):  # expired pairs are pruned as new ones arrive
            g.seen_before(f"x{i}", "s", 1_000_000 + i * 1000, 1)
        left = conn.scalar(select(func.count()).select_from(ControlReplay))
    assert left < 2 * PRUNE_EVERY


def test_replay_guard_commits_asynchronously_on_postgres_and_only_itself(ctx, monkeypatch) -> None:
    """Each check commits without waiting for a WAL flush (an fsync per signed request otherwise),
    and the relaxed setting ends with the check: other work on the pooled connection stays durable."""
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    seen: list[str] = []

    @contextlib.contextmanager
    def cursor_in_open_transaction(engine):  # noqa: ANN001, ANN202 - stands in for autocommit_cursor
        # The check's statement inside a transaction held open: its setting can be read before the end.
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            yield cur
            cur.execute("SHOW synchronous_commit")
            seen.append(cur.fetchone()[0])
        finally:
            raw.rollback()
            raw.close()

    with monkeypatch.context() as m:
        m.setattr(uplynk_replay, "autocommit_cursor", cursor_in_open_transaction)
        ReplayGuard(ctx.engine).seen_before("m", "s", 100_000, 300_000)
    assert seen == ["off"]

    one = create_engine(ctx.engine.url, pool_size=1, max_overflow=0)  # the check's connection, reused
    try:
        assert not ReplayGuard(one).seen_before("m", "s", 100_000, 300_000)
        with one.connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    finally:
        one.dispose()


# --- over HTTP ------------------------------------------------------------------------------------


def _post(client, data, path="/api2/asset/list"):
    resp = client.post(path, data=data)
    assert resp.status_code == 200
    return resp.json()


def test_every_transport_is_accepted(api, client) -> None:
    s = client.app.state.ctx.settings
    # POST form body (official sample)
    assert _post(client, api.pair({}))["error"] == 0
    # GET query string (Node, Elixir)
    assert client.get("/api2/asset/list", params=api.pair({})).json()["error"] == 0
    # POST with msg/sig in the query string and an empty body (a Python 3 client)
    assert client.post("/api2/asset/list", params=api.pair({})).json()["error"] == 0
    # multipart form
    pair = api.pair({})
    resp = client.post("/api2/asset/list", files={"msg": (None, pair["msg"]), "sig": (None, pair["sig"])})
    assert resp.json()["error"] == 0
    # Elixir: upper-case hex; PHP: trailing newline after sig; default zlib level
    pair = api.pair({}, level=6)
    assert _post(client, {"msg": pair["msg"], "sig": pair["sig"].upper() + "\n"})["error"] == 0
    # Python 2: newlines every 76 characters inside msg, signed as sent
    doc = {"_owner": s.uplynk_owner, "_timestamp": int(time.time()), "search": "y" * 300 + "é" * 40}
    b64 = base64.encodebytes(zlib.compress(json.dumps(doc).encode(), 9)).decode().rstrip("\n")
    assert "\n" in b64
    assert _post(client, {"msg": b64, "sig": sign(b64, s.uplynk_api_key)})["error"] == 0
    # A client that forgot to URL-encode: '+' arrives as ' ' in a raw form body
    for i in range(200):
        pair = api.pair({"search": f"z{i}"})
        if "+" in pair["msg"]:
            break
    raw = f"msg={pair['msg']}&sig={pair['sig']}"
    resp = client.post("/api2/asset/list", content=raw,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.json()["error"] == 0


def test_an_unencoded_msg_ending_in_plus_is_accepted(api, client) -> None:
    """A base64 text with no '=' padding can end in '+'; sent without URL-encoding, that '+' arrives
    as a trailing space, which is still part of the msg (it once was stripped as whitespace)."""
    for i in range(5000):
        pair = api.pair({"search": f"end{i}"})
        if pair["msg"].endswith("+"):
            break
    else:
        pytest.fail("no msg ending in '+' among 5000 tries")
    raw = f"msg={pair['msg']}&sig={pair['sig']}"
    resp = client.post("/api2/asset/list", content=raw,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.json()["error"] == 0, resp.json()
    # The same pair sent properly encoded is the same message: a replay.
    assert _post(client, pair)["error"] == 1


def test_a_repeated_msg_or_sig_is_read_for_its_first_in_every_transport(api, client) -> None:
    """One rule for repeated fields, whichever way they come (docs/parity.md): the first msg and sig."""
    def fields() -> list[tuple[str, str]]:
        good, other = api.pair({}), api.pair({"search": "other"})
        return [("msg", good["msg"]), ("msg", other["msg"]), ("sig", good["sig"]), ("sig", "0" * 64)]

    assert client.get("/api2/asset/list", params=fields()).json()["error"] == 0
    resp = client.post("/api2/asset/list", content=urlencode(fields()),
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.json()["error"] == 0
    resp = client.post("/api2/asset/list", files=[(k, (None, v)) for k, v in fields()])
    assert resp.json()["error"] == 0


def _raw_pair(doc: dict, key: str) -> dict[str, str]:
    msg = _msg(doc)
    return {"msg": msg, "sig": sign(msg, key)}


def test_refusals_over_http(api, client) -> None:
    s = client.app.state.ctx.settings
    now = int(time.time())
    good = {"_owner": s.uplynk_owner, "_timestamp": now}
    cases = [
        ({}, "missing msg and sig"),
        ({"sig": "a" * 64}, "missing msg"),
        ({"msg": _msg(good)}, "missing sig"),
        ({"msg": "%%%", "sig": "a" * 64}, "not valid base64"),
        ({"msg": base64.b64encode(b"xyz").decode(), "sig": "a" * 64}, "not zlib"),
        (_raw_pair([1, 2], s.uplynk_api_key) if False else {"msg": base64.b64encode(zlib.compress(b"[1]")).decode(),
                                                           "sig": "a" * 64}, "JSON object"),
        (_raw_pair({"_timestamp": now}, s.uplynk_api_key), "no _owner"),
        (_raw_pair({"_owner": "f" * 32, "_timestamp": now}, s.uplynk_api_key), "unknown _owner"),
        (_raw_pair({"_owner": s.uplynk_owner}, s.uplynk_api_key), "no _timestamp"),
        (_raw_pair({"_owner": s.uplynk_owner, "_timestamp": str(now)}, s.uplynk_api_key), "must be an integer"),
        (_raw_pair({"_owner": s.uplynk_owner, "_timestamp": now - 301}, s.uplynk_api_key), "allowed skew is 300"),
        (_raw_pair({"_owner": s.uplynk_owner, "_timestamp": now * 1000}, s.uplynk_api_key), "in the future"),
        (_raw_pair(good, "not-the-key"), "invalid signature"),
    ]
    for data, fragment in cases:
        out = _post(client, data)
        assert out["error"] == 1 and fragment in out["msg"], (data, out)
    bomb = base64.b64encode(zlib.compress(b"{" + b" " * (20 * 1024 * 1024) + b"}", 9)).decode()
    out = _post(client, {"msg": bomb, "sig": sign(bomb, s.uplynk_api_key)})
    assert out == {"error": 1, "msg": out["msg"]} and "more than 8 MB" in out["msg"]


def test_replay_refused(api, client) -> None:
    pair = api.pair({"search": "replay"})
    assert _post(client, pair)["error"] == 0
    out = _post(client, pair)
    assert out["error"] == 1 and "replayed request" in out["msg"]
    # The same pair sent as GET is the same request.
    assert "replayed" in client.get("/api2/asset/list", params=pair).json()["msg"]


def _pair_with_plus(api, params: dict) -> dict[str, str]:
    """A signed pair whose msg has '+' in its base64 (varying a nonce until one appears)."""
    for n in range(200):
        pair = api.pair({**params, "_try": n})
        if pair["msg"].count("+") >= 2:
            return pair
    raise AssertionError("no msg with '+' in 200 tries")


@pytest.mark.parametrize("which", ["first", "all"])
def test_replay_with_plus_sent_as_space_is_refused(api, client, asset_factory, which: str) -> None:
    # A replayed asset/update must not revert a later change, however the '+' travel.
    aid = asset_factory(desc="original")
    old = _pair_with_plus(api, {"id": aid, "desc": "first change"})
    assert _post(client, old, path="/api2/asset/update")["error"] == 0
    assert api.ok("asset/update", id=aid, desc="later change")["asset"]["desc"] == "later change"
    spaced = old["msg"].replace("+", " ", 1 if which == "first" else -1)
    out = _post(client, {"msg": spaced, "sig": old["sig"]}, path="/api2/asset/update")
    assert out["error"] == 1 and "replayed request" in out["msg"]
    # Sent raw (a '+' in a form body is a space once decoded), as a client that forgot to URL-encode.
    raw = client.post("/api2/asset/update", content=f"msg={old['msg']}&sig={old['sig']}",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}).json()
    assert raw["error"] == 1 and "replayed request" in raw["msg"]
    assert api.ok("asset/get", id=aid)["asset"]["desc"] == "later change"


def test_a_first_call_with_plus_sent_as_space_is_served(api, client, asset_factory) -> None:
    aid = asset_factory(desc="original")
    pair = _pair_with_plus(api, {"id": aid, "desc": "spaced"})
    out = _post(client, {"msg": pair["msg"].replace("+", " "), "sig": pair["sig"]}, path="/api2/asset/update")
    assert out["error"] == 0 and out["asset"]["desc"] == "spaced"


def test_several_enabled_keys_and_disabled_key(api, client) -> None:
    from lynkflow import ids
    from lynkflow.db.models import UplynkApiKey

    ctx = client.app.state.ctx
    with ctx.session() as db:
        db.add(UplynkApiKey(id=ids.hex32(), owner_id=api.owner, secret="second-key", enabled=True, created=1))
        db.add(UplynkApiKey(id=ids.hex32(), owner_id=api.owner, secret="off-key", enabled=False, created=2))
    assert _post(client, api.pair({}, key="second-key"))["error"] == 0  # a new key works at once
    assert _post(client, api.pair({}))["error"] == 0
    out = _post(client, api.pair({}, key="off-key"))
    assert out["error"] == 1 and "invalid signature" in out["msg"]


def test_skew_follows_the_lynkflow_clock(api, client) -> None:
    ctx = client.app.state.ctx
    ctx.clock.advance(3600 * 1000)
    real_now = int(time.time())
    out = _post(client, api.pair({}, ts=real_now))
    assert out["error"] == 1 and "old" in out["msg"]
    assert _post(client, api.pair({}))["error"] == 0  # stamped with the (advanced) lynkflow clock


def test_lenient_mode_serves_and_journals_mismatch(make_client) -> None:
    client = make_client(signature_mode="lenient")
    ctx = client.app.state.ctx
    s = ctx.settings
    doc = {"_owner": s.uplynk_owner, "_timestamp": int(time.time())}
    msg = _msg(doc)
    out = _post(client, {"msg": msg, "sig": "b" * 64})
    assert out["error"] == 0 and "assets" in out
    entries = client.get("/_lynkflow/journal", params={"api": "uplynk"}).json()["entries"]
    face = [e for e in entries if "mismatch" in json.dumps(e)]
    assert face, entries
    assert sign(msg, s.uplynk_api_key) in json.dumps(face[-1])


def test_off_mode_needs_no_signature(make_client) -> None:
    client = make_client(signature_mode="off")
    s = client.app.state.ctx.settings
    msg = _msg({"_owner": s.uplynk_owner})
    assert _post(client, {"msg": msg})["error"] == 0
    assert _post(client, {"msg": msg, "sig": "junk"})["error"] == 0
    out = _post(client, {"msg": _msg({"_owner": "0" * 32})})
    assert out["error"] == 1 and "unknown _owner" in out["msg"]


def test_journal_records_decoded_params_and_verdict(api, client) -> None:
    api.ok("asset/list", search="journal-me", poster_img="")
    entries = client.get("/_lynkflow/journal", params={"api": "uplynk"}).json()["entries"]
    text = json.dumps(entries)
    assert "journal-me" in text and "valid" in text


def test_explain_reports_expected_signatures_and_problems(api, client) -> None:
    ctx = client.app.state.ctx
    pair = api.pair({"id": "x"})
    report = sg.explain(ctx, pair["msg"], pair["sig"])
    assert report["sig_valid"] and report["problems"] == []
    assert report["decoded"]["id"] == "x"
    assert report["expected"][0]["sig"] == pair["sig"]
    bad = sg.explain(ctx, _msg({"_owner": "0" * 32, "_timestamp": 5}), "zz")
    joined = " | ".join(bad["problems"])
    assert "64-character hex" in joined and "unknown _owner" in joined and "allowed skew" in joined


def test_success_has_no_msg_and_unknown_endpoint_is_api2_shaped(api, client) -> None:
    out = api("asset/list")
    assert out["error"] == 0 and "msg" not in out
    resp = client.post("/api2/asset/nope", data=api.pair({}))
    assert resp.status_code == 200 and resp.json()["error"] == 1 and "unknown api2 endpoint" in resp.json()["msg"]


@pytest.mark.parametrize("escape", [
    lambda text: quote(text, safe=""),  # base64's own characters only, upper case (the common form)
    lambda text: re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote(text, safe="")),  # lower-case escapes
    lambda text: "".join(f"%{ord(c):02X}" for c in text),  # every character escaped
])
def test_an_escaped_form_pair_is_decoded_however_the_client_escaped_it(api, asset_factory, escape) -> None:
    asset_id = asset_factory(desc="escaped")
    pair = api.pair({"id": asset_id})
    body = f"msg={escape(pair['msg'])}&sig={escape(pair['sig'])}"
    resp = api.http.post("/api2/asset/get", content=body,
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.json()["error"] == 0 and resp.json()["asset"]["id"] == asset_id, resp.text


@pytest.mark.parametrize("form", [
    "msg=a%2Bb%3D&sig=AB", "sig=1&msg=x+y&msg=2", "m%73g=1&%73ig=2", "msg&sig=", "=&&msg=%ZZ%e9&sig=%C3%A9",
    "msg=a=b=c;sig=2", "msg=%u1234", "msg=\u00e9+%20&sig=+", "", "&&&", "msg=1&msg=2&sig=3&sig=4",
    "msg+=1&sig=%00", "ms%2Bg=1", "other=%41&msg=x%2",
    "msg=a%2b%2Fb%3d&sig=%41B", "msg=%2B%2F%3D%41&sig=1", "msg=%252B%2B&sig=%%2B", "msg=%C3%A9%2B+&sig=%2F",
])
def test_the_form_pair_is_read_as_parse_qsl_reads_it(form: str) -> None:
    """`form_pair` skips decoding the fields it does not need; what it returns is parse_qsl's first msg and sig."""
    from urllib.parse import parse_qsl

    from lynkflow.uplynk.transport import form_pair

    fields = parse_qsl(form, keep_blank_values=True)
    first = {name: next((v for k, v in fields if k == name), None) for name in ("msg", "sig")}
    assert form_pair(form) == (first["msg"], first["sig"])
