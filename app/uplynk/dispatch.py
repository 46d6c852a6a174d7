"""The api2 call pipeline: authenticate, open the session the operation's table entry asks for, run
the operation, commit, render `{..., "error": 0}` — or the api2 error shape for any refusal.

The dispatcher owns the unit of work: an operation gets `(call, db)` and never commits. A `READ`
operation gets a read session (on SQLite a deferred BEGIN: no write lock); a `WRITE` operation gets a
write session, committed after the operation returns and rolled back if it raises. Sessions are
lazy twice over: the Session object itself is made on the operation's first use of it (`LazySession`:
asset/get by ID reads on prebuilt statements and never touches it, and an unused Session still cost
~8 % of that call to make, commit and close), and a made Session opens no transaction before its
first query, so work an operation does before it (copying a source file, decoding a poster) holds no
lock. Actions that must follow the commit (dropping cached keys, asking a running job to stop) are
queued with `call.after_commit`.

Where the operation runs: every operation that touches the database runs in a thread (`in_thread`), so a
wait for SQLite's write lock or a slow query never stalls the event loop. The one exception is
`asset/get`, the hot path: by ID it is one autocommit statement (plus a cache hit for the
rendering), measured cheaper inline than the thread hop. A replay check that `authenticate` could
not make without waiting (app/uplynk/transport.py) runs first in the operation's own hop, so a call
makes one thread hop at most.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar, cast

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from lynkflow import jsondoc
from lynkflow.domain.uplynk_errors import AssetError
from lynkflow.kept_answers import kept_answers
from lynkflow.logging import get_logger
from lynkflow.media.errors import MediaError
from lynkflow.storage.diskfull import NO_SPACE, is_disk_full
from lynkflow.storage.paths import UnsafePath
from lynkflow.threadhop import in_thread
from lynkflow.uplynk.encoded import EncodedAnswer
from lynkflow.uplynk.errors import Api2Error, error_response
from lynkflow.uplynk.params import ParamError
from lynkflow.uplynk.query import QueryError
from lynkflow.uplynk.transport import Api2Call, authenticate

log = get_logger("uplynk")

Operation = Callable[[Api2Call, Session], dict[str, Any] | EncodedAnswer]

_CLIENT_ERRORS = (Api2Error, ParamError, QueryError, AssetError, UnsafePath)


class Access(Enum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Op:
    """One row of the URL table: the operation, the session it gets, and where it runs.

    `prepare`, when set, runs first in a read session of its own; what it returns is
    `call.prepared` for `fn`. It is for work that must not hold the write lock: checks whose
    answer feeds media work (a frame decoded for a poster) before the write.

    `replay_in_write`: the replay check is the first statement of the write's own transaction (one
    lock hold and one commit per signed write instead of two). Not for an operation with a `prepare`
    step (the check must come first) nor for one that does slow work before its first statement
    so as to hold no lock during it (cloudslicer/jobs/create's copy of the source file).

    `kept_under`: a data version (`shared.DATA_ROWS`) whose tables are all the answer is made of besides
    the owner, the parameters and the public base URL; the answer is then kept under it
    (lynkflow/kept_answers.py) and a call that asks the same again while it is unchanged gets it without
    running the operation (the signature and replay checks run as for any call).
    """

    fn: Operation
    access: Access
    threaded: bool = True
    prepare: Callable[[Api2Call, Session], Any] | None = None
    replay_in_write: bool = False
    kept_under: str | None = None


def read(fn: Operation, *, inline: bool = False, kept_under: str | None = None) -> Op:
    return Op(fn, Access.READ, threaded=not inline, kept_under=kept_under)


def write(fn: Operation, *, prepare: Callable[[Api2Call, Session], Any] | None = None,
          unlocked_start: bool = False) -> Op:
    """A write operation; `unlocked_start`: it does slow work before its first statement that must hold
    no lock (its replay check is then a statement of its own, made before the operation runs)."""
    return Op(fn, Access.WRITE, prepare=prepare, replay_in_write=prepare is None and not unlocked_start)


def _message(exc: Exception) -> str:
    return exc.msg if isinstance(exc, Api2Error) else str(exc)


T = TypeVar("T")

class Api2Response(JSONResponse):
    """A JSONResponse, byte for byte, encoded by the encoder made once (`jsondoc.encode`)."""

    def render(self, content: Any) -> bytes:
        if isinstance(content, EncodedAnswer):  # an operation's answer joined from encoded texts
            return content.text().encode("utf-8")
        return jsondoc.encode(content).encode("utf-8")


class LazySession:
    """Stands in for an operation's Session and makes the real one on first use (any attribute).

    Operations only call Session methods on their `db` (execute, get, scalars, add, flush...), which
    the proxy hands on; nothing gives it to SQLAlchemy as a Session itself.
    """

    __slots__ = ("_factory", "session")

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self.session: Session | None = None

    def __getattr__(self, name: str) -> Any:
        session = self.session
        if session is None:
            session = self.session = self._factory()
        return getattr(session, name)


def _in_unit_of_work(factory: sessionmaker[Session], work: Callable[[Session], Any]) -> Any:
    """`work(db)`, then commit; roll back on any error (as `session_scope`, for a lazy session)."""
    lazy = LazySession(factory)
    try:
        result = work(cast(Session, lazy))
        if lazy.session is not None:
            lazy.session.commit()
        return result
    except BaseException:
        if lazy.session is not None:
            lazy.session.rollback()
        raise
    finally:
        if lazy.session is not None:
            lazy.session.close()


def run(call: Api2Call, op: Op) -> dict[str, Any] | EncodedAnswer:
    """The unit of work of one call: the replay check if still due (or, `op.replay_in_write`, as the
    first statement of the write's transaction), the session, the operation, the commit, then the
    after-commit actions."""
    if not op.replay_in_write:
        call.check_replay()
    ctx = call.ctx
    if op.prepare is not None:
        prepare = op.prepare
        call.prepared = _in_unit_of_work(ctx.read_sessions, lambda db: prepare(call, db))

    def work(db: Session) -> dict[str, Any] | EncodedAnswer:
        if op.replay_in_write:
            call.check_replay_in(db)
        return op.fn(call, db)

    factory = ctx.sessions if op.access is Access.WRITE else ctx.read_sessions
    try:
        result: dict[str, Any] | EncodedAnswer = _in_unit_of_work(factory, work)
    except BaseException:
        # A write's rollback took its remembered pair with it, but a failed call is remembered too (its
        # replay is refused as a replay): remembered now on its own; if another request remembered it in
        # between, this one is the replay and says so. Nothing is due here for any other call.
        call.check_replay()
        raise
    call.pending_replay = None  # remembered by the write's commit, if it was due there
    for action in call.after_commit:
        action()
    return result


def make_endpoint(name: str, op: Op) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> JSONResponse:
        try:
            call = await authenticate(request, replay_in_write=op.replay_in_write)
            if call.replay_due and (op.kept_under is not None or not op.threaded):
                # Before an answer that may come without a thread hop (kept, or read on the loop): only the
                # check goes to the thread, batched with other calls' checks. Running asset/get in the
                # check's hop too was measured dearer on PostgreSQL (1.05 vs 0.93 ms CPU/req).
                await call.check_replay_soon()
            if op.kept_under is not None:
                what = (name, call.owner, _params_key(call.params), call.public_base)
                response = await kept_answers(call.ctx).answer(
                    op.kept_under, what, lambda: in_thread(lambda: _answer(run(call, op))))
                note_answer(request, 0)
                return response
            result = await in_thread(run, call, op) if op.threaded else run(call, op)
        except _CLIENT_ERRORS as exc:
            return journaled_error(request, _message(exc))
        except MediaError as exc:
            return journaled_error(request, str(exc))
        except Exception as exc:  # noqa: BLE001 - the api2 shape even for our own bugs, and a log line
            if is_disk_full(exc):
                log.warning("api2 operation refused: disk full", extra={"fields": {"operation": name}})
                return journaled_error(request, NO_SPACE)
            log.exception("api2 operation failed", extra={"fields": {"operation": name}})
            return journaled_error(request, f"internal error in {name}; see the lynkflow log", internal=True)
        note_answer(request, 0)
        return _answer(result)

    endpoint.__name__ = "api2_" + name.replace("/", "_").replace("-", "_")
    return endpoint


# A kept answer's parameters, as one hashable text whatever order the client wrote them in (a key
# only: never sent, so NaN and friends, which a msg may hold, need not be refused here).
_params_key = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def _answer(result: dict[str, Any] | EncodedAnswer) -> Api2Response:
    """An operation's result as its successful answer (a refusal raises before: never kept)."""
    result["error"] = 0
    return Api2Response(result)


def note_answer(request: Request, error: int, msg: str | None = None) -> None:
    """Tell the request journal what api2 answered (`error`, and `msg` on a refusal)."""
    face = getattr(request.state, "journal", None)
    if not isinstance(face, dict):
        face = request.state.journal = {"api": "uplynk"}
    face["error"] = error
    if msg is not None:
        face["msg"] = msg


def journaled_error(request: Request, msg: str, *, internal: bool = False) -> JSONResponse:
    note_answer(request, 1, msg)
    return error_response(msg, internal=internal)
