"""lynkflow inside the test process: the ASGI app behind httpx's ASGI transport, no subprocess, no port.

    with InProcessLynkflow(tmp_path / "lynkflow") as server:
        client = UplynkClient(server.base_url, server.uplynk_owner, server.uplynk_api_key,
                              transport=server.transport)

The app's lifespan (migrate, default accounts, in-process workers) runs on an event loop of its
own in a background thread; `transport` is a synchronous httpx transport that hands each request
to httpx's `ASGITransport` on that loop, so the kit's synchronous clients work unchanged. URLs in
answers name `base_url` (`http://lynkflow.test`), which only this transport reaches: fetch media
through a client built with it.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from lynkflow.testing.server import Credentials

BASE_URL = "http://lynkflow.test"


class _SyncASGITransport(httpx.BaseTransport):
    """A sync transport that runs httpx's ASGITransport on the app's own event loop."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.asgi = httpx.ASGITransport(app=app)
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)

        async def call() -> httpx.Response:
            resp = await self.asgi.handle_async_request(copy)
            content = b"".join([chunk async for chunk in resp.stream])  # type: ignore[union-attr]
            return httpx.Response(resp.status_code, headers=resp.headers, content=content)

        try:
            return asyncio.run_coroutine_threadsafe(call(), self.loop).result()
        except ConnectionResetError as exc:  # a `drop` fault: no network connection to close here
            raise httpx.RemoteProtocolError(str(exc), request=request) from None


class InProcessLynkflow(Credentials):
    """The same face as LynkflowServer (base_url, credentials, admin_token), plus `transport`."""

    def __init__(self, data_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.env = {k: str(v) for k, v in (env or {}).items()}
        self.base_url = BASE_URL
        self.transport: httpx.BaseTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lifespan: Any = None

    def start(self, timeout: float = 60.0) -> InProcessLynkflow:
        from lynkflow.config import load_settings
        from lynkflow.main import create_app

        self.data_dir.mkdir(parents=True, exist_ok=True)
        overrides: dict[str, Any] = {k[len("LYNKFLOW_"):].lower(): v for k, v in self.env.items()
                                     if k.startswith("LYNKFLOW_")}
        overrides["data_dir"] = self.data_dir
        overrides.setdefault("public_url", BASE_URL)
        app = create_app(load_settings(**overrides))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lynkflow-inprocess", daemon=True)
        self._thread.start()
        self._lifespan = app.router.lifespan_context(app)
        asyncio.run_coroutine_threadsafe(self._lifespan.__aenter__(), self._loop).result(timeout)
        self.transport = _SyncASGITransport(app, self._loop)
        with httpx.Client(base_url=BASE_URL, transport=self.transport) as http:
            for _ in range(int(timeout / 0.05)):
                if http.get("/_lynkflow/ready").status_code == 200:
                    break
                threading.Event().wait(0.05)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._lifespan.__aexit__(None, None, None), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
            loop.close()

    def __enter__(self) -> InProcessLynkflow:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
