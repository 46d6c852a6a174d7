"""Which tenant an API request belongs to, found from its credentials before the request runs.

The control middleware needs the tenant before the face has authenticated anything: a tenant's
fault rules and stubs apply before the route, and its clock must be in place when the face checks
the `_timestamp`. VIS names its key in a header; api2 names its owner inside `msg` (in the query
string or a urlencoded body), so for api2 the body is read here and handed on unchanged.
Nothing is read when no tenant exists, so an instance without tenants pays nothing.
The face still checks the credentials: a request that merely claims a tenant's owner gets that
tenant's clock and faults, and then the face's refusal.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Receive, Scope

from lynkflow import limits
from lynkflow.tenancy import TenantDirectory

_VIS_HEADERS = (b"api-key", b"x-auth-key")


def _header(scope: Scope, names: tuple[bytes, ...]) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() in names and value.strip():
            return value.decode("latin-1").strip()
    return None


def decoded_msg(msg: str | None) -> dict[str, Any] | None:
    """The api2 msg as a JSON object, or None when it cannot be decoded (the face will say why)."""
    if not msg:
        return None
    from lynkflow.uplynk.signature import SignatureError, decode_msg

    try:
        return decode_msg(msg)
    except SignatureError:
        return None


def _owner_in(scope: Scope, msg: str | None) -> str | None:
    from lynkflow.uplynk.signature import SignatureError, decode_msg_once, owner_of

    if not msg:
        return None
    try:
        return owner_of(decode_msg_once(scope, msg))  # kept for the face, which decodes it again
    except SignatureError:
        return None


async def read_body(receive: Receive) -> tuple[list[Message], bytes, bool]:
    """The request's body messages (to replay), their bytes, and whether it was read to the end
    within the api2 body cap (a bigger body is left to the face to refuse)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, b"", False
        size += len(message.get("body", b""))
        if size > limits.API2_MAX_BODY_BYTES:
            return messages, b"", False
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages), True


def replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def resolve(directory: TenantDirectory, api: str, scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
    """The request's tenant (None: no tenant), and the `receive` to hand on."""
    if not directory.any():
        return None, receive
    if api == "vuflow":
        key = _header(scope, _VIS_HEADERS)
        return (directory.for_vis_key(key) if key else None), receive
    from lynkflow.uplynk.transport import form_pair  # the msg the face authenticates, read as it reads it

    owner = _owner_in(scope, form_pair(scope.get("query_string", b"").decode("latin-1"))[0])
    if owner is None and scope.get("method") == "POST":
        ctype = (_header(scope, (b"content-type",)) or "").split(";", 1)[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            messages, body, complete = await read_body(receive)
            receive = replay(messages, receive)
            if complete:
                owner = _owner_in(scope, form_pair(body.decode("utf-8", errors="replace"))[0])
    return (directory.for_owner(owner) if owner else None), receive
