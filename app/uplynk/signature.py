"""Uplynk api2 request signing: decode `msg`, check `sig`, and explain a verdict.

The wire format (reference §1): `msg` = base64(zlib(JSON object with `_owner`, `_timestamp` and the
call's parameters)); `sig` = hex HMAC-SHA256 of the exact `msg` string, keyed with the API key.

Everything here is pure (no HTTP, no database): the transport hands in the strings it received and
the owner's enabled keys, and gets back the decoded parameters or a `SignatureError` whose message
says what is wrong in words a client author can act on. Tolerances follow what real clients send:
newlines inside the base64 (Python 2), `+` turned into a space (forgotten URL-encoding), upper-case
hex (Elixir), a trailing newline after `sig` (PHP), any zlib level, and raw deflate or gzip too.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import zlib
from collections.abc import Iterable, MutableMapping
from typing import Any

from lynkflow import jsondoc, limits

# Largest decompressed message we accept. A poster image may be ~4 MB of base64 inside the JSON
# (3 MB before encoding), so the cap sits above that; anything larger is refused without ever
# holding more than this many bytes (zlib bombs stop here).
MAX_DECOMPRESSED_BYTES = limits.API2_MAX_DECOMPRESSED_BYTES
# Largest `msg` we even try to decode (base64 of the compressed message).
MAX_MSG_CHARS = limits.API2_MAX_MSG_CHARS

_WHITESPACE = re.compile(r"\s+")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class SignatureError(ValueError):
    """A request that cannot be accepted; the message is the api2 `msg` text, `reason` the journal's
    verdict for it (see VERDICTS)."""

    def __init__(self, message: str, reason: str = "bad-msg") -> None:
        super().__init__(message)
        self.reason = reason


# The signature verdicts the request journal records, one per way a request is judged.
VERDICTS = ("valid", "unchecked", "mismatch-accepted", "missing-msg", "missing-sig", "bad-msg",
            "missing-owner", "unknown-owner", "missing-timestamp", "bad-timestamp", "stale-timestamp",
            "future-timestamp", "no-enabled-key", "bad-signature", "replayed")


def _b64decode(msg: str) -> bytes:
    text = _WHITESPACE.sub("", canonical_msg(msg))
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")  # URL-safe alphabet
    text = text.rstrip("=")
    if not text:
        raise SignatureError("msg is empty: send base64(zlib(JSON)) of the call's parameters")
    if len(text) % 4 == 1:
        raise SignatureError("msg is not valid base64: its length is impossible for base64 data")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        bad = sorted({c for c in text if not (c.isalnum() or c in "+/=")})[:5]
        raise SignatureError(
            "msg is not valid base64" + (f" (unexpected characters {''.join(bad)!r})" if bad else "")
        ) from None


def _inflate(data: bytes) -> bytes:
    """zlib (any level), else gzip, else raw deflate; at most MAX_DECOMPRESSED_BYTES of output."""
    last_error = ""
    for wbits in (zlib.MAX_WBITS, 16 + zlib.MAX_WBITS, -zlib.MAX_WBITS):
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(data, MAX_DECOMPRESSED_BYTES + 1)
        except zlib.error as exc:
            last_error = str(exc)
            continue
        if len(out) > MAX_DECOMPRESSED_BYTES or d.unconsumed_tail:
            raise SignatureError(
                f"msg decompresses to more than {MAX_DECOMPRESSED_BYTES // (1024 * 1024)} MB; "
                "send smaller requests"
            )
        if not d.eof:
            last_error = "the compressed data is truncated"
            continue
        return out
    raise SignatureError(f"msg is not zlib-compressed data ({last_error}); compress the JSON with zlib")


def decode_msg(msg: str) -> dict[str, Any]:
    """base64 → zlib → JSON object, or SignatureError saying which step failed."""
    if len(msg) > MAX_MSG_CHARS:
        raise SignatureError(f"msg is longer than {MAX_MSG_CHARS} characters")
    raw = _inflate(_b64decode(msg))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("msg does not contain UTF-8 JSON text") from None
    del raw  # up to 8 MB: not kept alive while the text is checked
    try:
        # Depth, text, number and length limits (lynkflow.limits) apply to every parameter.
        doc = jsondoc.loads(text, what="msg", long_text_fields=limits.API2_LARGE_TEXT_FIELDS)
    except jsondoc.DocumentError as exc:
        if exc.kind == "InvalidJson":
            raise SignatureError(f"msg does not contain valid JSON ({exc.detail})") from None
        raise SignatureError(f"msg parameter {exc.message}" if exc.field else exc.message) from None
    if not isinstance(doc, dict):
        raise SignatureError(f"msg must hold a JSON object, not a {type(doc).__name__}")
    return doc


# The ASGI scope key under which a request's decoded msg is kept: (msg, document).
_DECODED_KEY = "lynkflow.api2_msg"


def decode_msg_once(scope: MutableMapping[str, Any], msg: str) -> dict[str, Any]:
    """`decode_msg`, kept on the request's ASGI scope: with tenants, the control middleware decodes
    the msg to find the owner before the face does, and one request decodes its msg once. The
    document is shared by both: read it, never change it."""
    kept = scope.get(_DECODED_KEY)
    if kept is not None and kept[0] == msg:
        return kept[1]
    doc = decode_msg(msg)
    scope[_DECODED_KEY] = (msg, doc)
    return doc


def owner_of(doc: dict[str, Any]) -> str:
    owner = doc.get("_owner")
    if owner is None or owner == "":
        raise SignatureError("msg has no _owner: add your 32-character user ID as _owner", "missing-owner")
    if not isinstance(owner, str):
        raise SignatureError("_owner must be a string (your 32-character user ID)", "missing-owner")
    return owner.strip().lower()


def timestamp_of(doc: dict[str, Any]) -> int:
    ts = doc.get("_timestamp")
    if ts is None:
        raise SignatureError("msg has no _timestamp: add the current Unix time in seconds as _timestamp",
                             "missing-timestamp")
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise SignatureError(f"_timestamp must be an integer number of seconds, got {ts!r}", "bad-timestamp")
    return ts


def check_skew(ts: int, now_s: float, skew_s: int) -> None:
    delta = ts - now_s
    if abs(delta) > skew_s:
        direction = "in the future" if delta > 0 else "old"
        raise SignatureError(
            f"_timestamp {ts} is {abs(int(delta))} s {direction}; the allowed skew is {skew_s} s "
            "(check the client's clock, and send Unix seconds, not milliseconds)",
            "future-timestamp" if delta > 0 else "stale-timestamp",
        )


def compute_sig(msg: str, key: str) -> str:
    """The `sig` of a `msg`: hex HMAC-SHA256 of the exact msg string, keyed with the API key."""
    return hmac.digest(key.encode(), msg.encode(), "sha256").hex()  # one C call: no HMAC object per check


def pack_msg(doc: dict[str, Any], *, level: int = 9, indent: int | None = None) -> str:
    """The `msg` of a JSON document, as the official sample client builds it: base64(zlib(JSON)).
    `indent` changes only whitespace (a way to make two msgs of one meaning differ)."""
    text = json.dumps(doc) if indent is None else json.dumps(doc, indent=indent)
    return base64.b64encode(zlib.compress(text.encode(), level)).decode()


def canonical_msg(msg: str) -> str:
    """The msg as its client built it: a '+' that arrived unencoded as ' ' turned back, whitespace
    around the value (a PHP client's newline) dropped.

    A trailing space is a '+', not whitespace: base64 with no '=' padding can end in '+'. A leading
    one is whitespace: zlib and gzip data never encode to a leading '+'. Newlines inside (Python 2
    inserts one every 76 characters) are left for the decoder, which skips them.

    The signature check accepts both forms of the same message, so anything that must recognise a
    message (the replay guard) keys on this form; otherwise resending the pair with one '+' sent as
    a space would look like a new message.
    """
    return msg.strip("\t\n\r\f\v").lstrip(" ").replace(" ", "+")


def _msg_variants(msg: str) -> list[str]:
    # The HMAC covers the msg exactly as the client built it. If '+' was turned into ' ' on the
    # way, the client signed the '+' version.
    return [msg, msg.replace(" ", "+")] if " " in msg else [msg]


def normalise_sig(sig: str) -> str:
    return sig.strip().lower()


def sig_matches(msg: str, sig: str, keys: Iterable[str]) -> bool:
    """Constant-time comparison against every enabled key (and each msg variant)."""
    wanted = normalise_sig(sig).encode()
    ok = False
    for key in keys:
        for variant in _msg_variants(msg):
            # Keep comparing after a match: the time taken must not depend on which key matched.
            ok |= hmac.compare_digest(compute_sig(variant, key).encode(), wanted)
    return ok


def explain(ctx: Any, msg: str, sig: str) -> dict[str, Any]:
    """For the control plane: the decoded JSON, the expected signature per enabled key, every refusal.

    Reads the owner's keys from the database; reports problems instead of raising.
    """
    from lynkflow.uplynk.signing_keys import enabled_keys, owner_exists

    report: dict[str, Any] = {"decoded": None, "owner": None, "expected": [], "sig_received": sig,
                              "sig_valid": False, "problems": []}
    problems: list[str] = report["problems"]
    if not msg:
        problems.append("missing msg parameter")
    if not sig:
        problems.append("missing sig parameter")
    elif not _HEX64.match(normalise_sig(sig)):
        problems.append("sig must be the 64-character hex HMAC-SHA256 of msg, keyed with your API key")
    doc: dict[str, Any] | None = None
    if msg:
        try:
            doc = decode_msg(msg)
        except SignatureError as exc:
            problems.append(str(exc))
    if doc is not None:
        report["decoded"] = _redact(doc)
        owner = None
        try:
            owner = owner_of(doc)
        except SignatureError as exc:
            problems.append(str(exc))
        try:
            ts = timestamp_of(doc)
            check_skew(ts, ctx.clock.now(), ctx.settings.timestamp_skew)
        except SignatureError as exc:
            problems.append(str(exc))
        if owner is not None:
            report["owner"] = owner
            if not owner_exists(ctx, owner):
                problems.append(f"unknown _owner {owner!r}")
            else:
                keys = enabled_keys(ctx, owner, fresh=True)
                if not keys:
                    problems.append(f"owner {owner} has no enabled API key")
                for key_id, secret in keys:
                    report["expected"].append({"key_id": key_id, "sig": compute_sig(msg, secret)})
                if sig and keys and not sig_matches(msg, sig, [s for _, s in keys]):
                    problems.append("sig does not match msg for any enabled API key of this owner")
                elif sig and keys:
                    report["sig_valid"] = True
    return report


# Parameters never copied into journals or explanations verbatim (large or secret).
_REDACT = {"poster_img": "<base64 image, {n} chars>", "api_secret": "<secret>", "api_key": "<secret>",
           "password": "<secret>"}


def _redact(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in doc.items():
        if k in _REDACT and v not in (None, ""):
            out[k] = _REDACT[k].format(n=len(str(v)))
        elif k == "source" and isinstance(v, dict):
            out[k] = {sk: ("<secret>" if sk in ("api_key", "api_secret") else sv) for sk, sv in v.items()}
        else:
            out[k] = v
    return out


redact = _redact
