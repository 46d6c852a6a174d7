"""Hostile bodies against a real `lynkflow serve` process: its memory (peak RSS, from /proc) grows by
less than 50 MB, and it keeps answering. Bodies are streamed over a plain socket, as an attacker
would, so the server's own reading and refusing is what is measured."""

from __future__ import annotations

import base64
import socket
import time
import zlib
from pathlib import Path

import httpx
import pytest

from lynkflow.domain.vis_vuflows import default_vuflow_id
from lynkflow.testing.server import LynkflowServer
from lynkflow.testing.signing import sign

MB = 1024 * 1024
BUDGET = 50 * MB

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to read RSS")


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def peak_rss(pid: int) -> int:
    return _status_kb(pid, "VmHWM")


def send_raw(port: int, path: str, content_type: str, body_size: int, *, chunked: bool, api_key: str,
             chunk: bytes = b"x" * (256 * 1024)) -> bytes:
    """POST `body_size` bytes of `chunk` repeated (announced, or chunked); returns what the server answered.

    The server may answer and close before the body is through: sending then fails, which is the point.
    """
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}", f"API-KEY: {api_key}"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {body_size}")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            sent = 0
            while sent < body_size:
                piece = chunk[: body_size - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # refused mid-body: what is left unsent is never read
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


def _deep_msg(owner: str, key: str, levels: int) -> bytes:
    text = f'{{"_owner": "{owner}", "_timestamp": {int(time.time())}, "meta": {"[" * levels}1{"]" * levels}}}'
    msg = base64.b64encode(zlib.compress(text.encode(), 9)).decode()
    return httpx.QueryParams({"msg": msg, "sig": sign(msg, key)}).__str__().encode()


def test_hostile_bodies_keep_memory_bounded(tmp_path: Path) -> None:
    with LynkflowServer(tmp_path / "lynkflow", env={"LYNKFLOW_INPROC_WORKERS": "0"}) as server:
        assert server.pid is not None and server.port is not None
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            vis = {"API-KEY": server.vuflow_api_key}
            # Warm up every face once, so imports and caches are in the baseline.
            assert http.post("/api/event/", json={"title": "warm"}, headers=vis).status_code == 200
            assert http.post("/api2/asset/list", data={"msg": "x", "sig": "y"}).status_code == 200
            baseline = peak_rss(server.pid)

            hostile = [
                ("/api/vuflow/", "application/json", 200 * MB, True),  # 200 MB streamed VIS body
                ("/api/event/", "application/json", 50 * MB, False),  # a 50 MB event title, announced
                ("/api/event/", "application/json", 50 * MB, True),  # ... and chunked
                ("/api2/asset/list", "application/x-www-form-urlencoded", 200 * MB, True),  # 200 MB chunked api2
                ("/_lynkflow/seed", "application/json", 100 * MB, True),
            ]
            answers = {}
            for path, ctype, size, chunked in hostile:
                answers[(path, chunked)] = send_raw(server.port, path, ctype, size, chunked=chunked,
                                                    api_key=server.vuflow_api_key)
            # Deep nesting: a VIS body and an api2 msg far past the depth limit (the msg decompresses to ~8 MB).
            deep_vis = http.post("/api/event/", content=b'{"tags": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}",
                                 headers={**vis, "Content-Type": "application/json"})
            deep_api2 = http.post("/api2/asset/update", content=_deep_msg(server.uplynk_owner, server.uplynk_api_key,
                                                                           4 * MB - 100),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
            grown = peak_rss(server.pid) - baseline
            print(f"memory: peak RSS grew {grown / MB:.1f} MB under the hostile bodies (budget {BUDGET // MB} MB)")
            assert grown < BUDGET, f"peak RSS grew by {grown / MB:.1f} MB"

            assert deep_vis.status_code in (400, 413) and "exceptionType" in deep_vis.json(), deep_vis.text[:300]
            assert deep_api2.json()["error"] == 1 and "levels deep" in deep_api2.json()["msg"], deep_api2.text[:300]
            for (path, _), answer in answers.items():
                # When the answer arrived before the connection closed, it is the face's refusal.
                if answer:
                    assert b" 413 " in answer.split(b"\r\n", 1)[0] or path.startswith("/api2/"), answer[:300]
            # Still serving, and nothing was stored.
            flows = [f["id"] for f in http.get("/api/vuflow/", headers=vis).json()]
            assert flows == [default_vuflow_id(server.vuflow_api_key)]  # only the key's own default
            assert http.get("/api/event/", headers=vis).json()["totalCount"] == 1
