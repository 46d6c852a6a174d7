"""Reading a signed api2 call off the wire: `msg`/`sig` from the query string or the body.

Clients send GET with a query string, POST with a form body, and POST with the pair in the query
string (reference §1.3); all are accepted. The body is parsed by hand for the common
`application/x-www-form-urlencoded` case (cheaper than the generic form parser on a hot path).

`authenticate` runs the checks in the order a client author would want them reported: transport,
decoding, owner, timestamp, signature, replay. The replay check is a database write; when it cannot
be made at once on the event loop, or the call is a write that makes it in its own transaction, it is
left to the dispatcher, which makes it before anything else the call does (`Api2Call.check_replay`,
`check_replay_in`). It records what it decoded and the verdict in
`request.state.journal` for the request journal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import ImmutableMultiDict
from starlette.exceptions import HTTPException

from lynkflow import limits
from lynkflow.config import SignatureMode
from lynkflow.context import AppContext
from lynkflow.domain.uplynk_replay import Pair, ReplayGuard, replay_guard
from lynkflow.logging import get_logger
from lynkflow.uplynk import signature, signing_keys
from lynkflow.uplynk.errors import Api2Error
from lynkflow.uplynk.signature import SignatureError

log = get_logger("uplynk.signature")

# Bodies larger than this are refused while they stream (lynkflow.bodylimit); this check stays for
# callers that reach the face without that middleware.
MAX_BODY_BYTES = limits.API2_MAX_BODY_BYTES

REPLAYED = ("replayed request: this msg and sig were already used; "
            "build a new msg (with a fresh _timestamp) for every call")


@dataclass
class Api2Call:
    """One authenticated call: who is calling, with which parameters, through which request."""

    ctx: AppContext
    owner: str
    params: dict[str, Any]
    request: Request
    # The signed pair as received: lets an operation tell which key signed it (owners/api-key/*).
    msg: str = ""
    sig: str | None = None
    # Run by the dispatcher after the operation's transaction commits (app/uplynk/dispatch.py).
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # What the operation's `prepare` step found (app/uplynk/dispatch.py `Op.prepare`).
    prepared: Any = None
    # The replay check, when `authenticate` could not make it without waiting: `check_replay` (in a
    # thread) or `check_replay_soon` (on the event loop) makes it with `guard`.
    guard: ReplayGuard | None = None
    pending_replay: Pair | None = None
    replayed: Callable[[], None] | None = None  # journals the refusal

    @property
    def replay_due(self) -> bool:
        return self.pending_replay is not None

    def check_replay(self) -> None:
        """Make the deferred replay check (it may wait: in a thread); raise if the pair was seen."""
        pair, self.pending_replay = self.pending_replay, None
        if pair is not None:
            assert self.guard is not None
            self._refuse_if(self.guard.seen_before(*pair))

    async def check_replay_soon(self) -> None:
        """`check_replay` for an operation that runs on the event loop: the check joins the guard's
        next batch (one thread hop for the checks of many calls)."""
        pair, self.pending_replay = self.pending_replay, None
        if pair is not None:
            assert self.guard is not None
            self._refuse_if(await self.guard.seen_soon(*pair))

    def check_replay_in(self, db: Session) -> None:
        """Make the deferred check as a statement of the write's own transaction on `db` (one lock hold,
        one commit per signed write); raise if the pair was seen. Unless refused, the check stays due
        until the transaction commits: the dispatcher makes it again on its own if it rolls back."""
        pair = self.pending_replay
        if pair is not None:
            assert self.guard is not None
            if not self.guard.checks_in_write:  # SQLite: the memory is a file of its own
                self.check_replay()
                return
            if self.guard.seen_in(db, *pair):
                self.pending_replay = None
                self._refuse_if(True)

    def _refuse_if(self, seen: bool) -> None:
        if seen:
            assert self.replayed is not None
            self.replayed()
            raise Api2Error(REPLAYED)

    @property
    def public_base(self) -> str:
        return self.ctx.base_for(self.request)




async def read_pair(request: Request) -> tuple[str | None, str | None]:
    """msg and sig from the query string, else from the body (urlencoded or multipart form)."""
    msg = sig = None
    if request.scope.get("query_string"):  # a POST form usually has none: no parse of an empty one
        qp = request.query_params
        msg, sig = _first(qp, "msg"), _first(qp, "sig")
    if msg is not None and sig is not None:
        return msg, sig
    if request.method in ("POST", "PUT", "PATCH"):
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype.startswith("multipart/"):
            try:
                # A field may hold a whole msg (Starlette's default allows 1 MB per field).
                form = await request.form(max_part_size=MAX_BODY_BYTES)
            except HTTPException as exc:  # Starlette reports a malformed or over-limit form this way
                raise Api2Error(f"the multipart form cannot be read: {exc.detail}") from None
            fm, fs = _first(form, "msg"), _first(form, "sig")
            msg = msg if msg is not None else (fm if isinstance(fm, str) else None)
            sig = sig if sig is not None else (fs if isinstance(fs, str) else None)
        else:
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
                raise Api2Error(f"request body is larger than {MAX_BODY_BYTES} bytes")
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                raise Api2Error(f"request body is larger than {MAX_BODY_BYTES} bytes")
            if body:
                form_msg, form_sig = form_pair(body.decode("utf-8", errors="replace"))
                msg = msg if msg is not None else form_msg
                sig = sig if sig is not None else form_sig
    return msg, sig


def form_pair(form: str) -> tuple[str | None, str | None]:
    """The first `msg` and `sig` of an urlencoded form, each decoded as `parse_qsl` decodes it ('+'
    is a space, then %XX escapes), leaving the other fields undecoded (parse_qsl cost ~8 µs a call)."""
    msg = sig = None
    for item in form.split("&"):
        name, _, value = item.partition("=")
        name = _form_decoded(name)
        if name == "msg" and msg is None:
            msg = _form_decoded(value)
        elif name == "sig" and sig is None:
            sig = _form_decoded(value)
    return msg, sig


def _first(fields: ImmutableMultiDict, name: str) -> Any:
    """A repeated field's first value, as `form_pair` reads an urlencoded form (Starlette's `get` gives the last)."""
    values = fields.getlist(name)
    return values[0] if values else None


# The escapes of base64's own characters ('+', '/', '='), which are all a urlencoded `msg` holds.
_BASE64_ESCAPES = (("%2B", "+"), ("%2F", "/"), ("%3D", "="))


def _form_decoded(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    # What `unquote` gives when these are the only escapes (their replacements hold no '%', so one can
    # neither make nor break another escape), without its general decoder (~3 % of a signed asset/get).
    plain = text
    for escape, char in _BASE64_ESCAPES:
        plain = plain.replace(escape, char)
    return plain if "%" not in plain else unquote(text)


def _journal(request: Request, params: dict[str, Any] | None, verdict: str, **extra: Any) -> None:
    entry: dict[str, Any] = {"api": "uplynk", "params": signature.redact(params) if params else params,
                             "signature": verdict}
    entry.update(extra)
    request.state.journal = entry


async def authenticate(request: Request, *, replay_in_write: bool = False) -> Api2Call:
    """The signed call, checked; `replay_in_write`: the operation makes the replay check the first
    statement of its own write transaction (`Api2Call.check_replay_in`), so where the guard can do that
    (`ReplayGuard.checks_in_write`) it is left pending here."""
    ctx: AppContext = request.app.state.ctx
    mode = ctx.settings.signature_mode
    msg, sig = await read_pair(request)
    if not msg and not sig:
        _journal(request, None, "missing-msg")
        raise Api2Error("missing msg and sig parameters: send msg=<base64 zlib JSON>&sig=<hex HMAC-SHA256>")
    if not msg:
        _journal(request, None, "missing-msg")
        raise Api2Error("missing msg parameter")
    if not sig and mode != SignatureMode.off:
        _journal(request, None, "missing-sig")
        raise Api2Error("missing sig parameter: sign msg with HMAC-SHA256 using your API key")
    try:
        doc = signature.decode_msg_once(request.scope, msg)
    except SignatureError as exc:
        _journal(request, None, exc.reason)
        raise Api2Error(str(exc)) from None
    try:
        owner = signature.owner_of(doc)
        if mode != SignatureMode.off:
            ts = signature.timestamp_of(doc)
            signature.check_skew(ts, ctx.clock.now(), ctx.settings.timestamp_skew)
        exists, keys = signing_keys.lookup(ctx, owner)
        if not exists:
            raise SignatureError(f"unknown _owner {owner!r}: no such user ID", "unknown-owner")
    except SignatureError as exc:
        _journal(request, doc, exc.reason)
        raise Api2Error(str(exc)) from None

    verdict = "unchecked"
    guard: ReplayGuard | None = None
    pending: Pair | None = None
    replayed: Callable[[], None] | None = None
    if mode != SignatureMode.off:
        assert sig is not None
        valid = signature.sig_matches(msg, sig, [s for _, s in keys])
        if not valid:
            # A key added a moment ago may not be in the cache yet.
            keys = signing_keys.enabled_keys(ctx, owner, fresh=True)
            valid = signature.sig_matches(msg, sig, [s for _, s in keys])
        if valid:
            verdict = "valid"
        elif mode == SignatureMode.lenient:
            verdict = "mismatch-accepted"
            expected = [signature.compute_sig(msg, s) for _, s in keys]
            log.warning("signature mismatch accepted (lenient mode)",
                        extra={"fields": {"path": request.url.path, "owner": owner,
                                          "received": signature.normalise_sig(sig), "expected": expected}})
            _journal(request, doc, verdict, expected_sig=expected, received_sig=signature.normalise_sig(sig))
        else:
            _journal(request, doc, "bad-signature" if keys else "no-enabled-key")
            if not keys:
                raise Api2Error(f"owner {owner} has no enabled API key")
            raise Api2Error("invalid signature: sig must be the hex HMAC-SHA256 of the msg string, "
                            "keyed with one of your enabled API keys")
        # A write. Made here when it cannot wait (SQLite, lock free); otherwise it may wait for the
        # write lock or the network, so the dispatcher makes it in a thread: in the operation's own
        # hop when the operation runs in one (one hop per call, not two), else batched with other
        # calls' checks (`ReplayGuard.seen_soon`).
        guard = replay_guard(ctx)
        pair = (signature.canonical_msg(msg), sig, ctx.clock.now_ms(), max(1, ctx.settings.timestamp_skew) * 1000)
        seen = None if replay_in_write and guard.checks_in_write else guard.seen_now(*pair)
        if seen:
            _journal(request, doc, "replayed")
            raise Api2Error(REPLAYED)
        if seen is None:
            pending = pair
            replayed = lambda: _journal(request, doc, "replayed")  # noqa: E731
    if verdict != "mismatch-accepted":
        _journal(request, doc, verdict)
    # `_`-prefixed members are the envelope (_owner, _timestamp, a client's nonce), not parameters.
    params = {k: v for k, v in doc.items() if not k.startswith("_")}
    return Api2Call(ctx=ctx, owner=owner, params=params, request=request, msg=msg, sig=sig,
                    guard=guard, pending_replay=pending, replayed=replayed)
