"""The floor under issue #14's signed-read and start-up goals: the fixed stack doing only the minimum.

DESIGN.md fixes the stack (FastAPI + uvicorn, pydantic-settings, SQLAlchemy). This app is built on
it and does, per signed `asset/get`, only what any faithful server must: read the form body, decode
the msg (base64, zlib, JSON), check the HMAC-SHA256 signature and the timestamp skew, remember the
pair in a shared SQLite table (so another process refuses a replay), read the asset row by ID and
answer JSON. No journal, no faults, no tenants, no middleware of its own, every statement inline on
the event loop. Its start imports what lynkflow's start must import (FastAPI, uvicorn, pydantic-settings,
SQLAlchemy's core and ORM) and makes its schema, and nothing else.

What lynkflow does on top of this floor is what it could still save; what this floor costs is what no
lynkflow change can save on this stack. `bench/peers.py --only floor,lynkflow,prism,fastapi` runs it
beside the others.

    FLOOR_DB=/tmp/x.sqlite FLOOR_OWNER=o FLOOR_KEY=k uvicorn floor_app:app
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import time
import zlib
from urllib.parse import parse_qs

import sqlalchemy.orm  # noqa: F401 - imported, as lynkflow's start must import it
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic_settings import BaseSettings
from sqlalchemy import create_engine, text


class FloorSettings(BaseSettings):
    model_config = {"env_prefix": "FLOOR_"}
    db: str
    owner: str
    key: str
    skew_s: int = 300


settings = FloorSettings()
# The schema through SQLAlchemy, as lynkflow makes it; requests then use one raw connection (the cheapest).
_engine = create_engine(f"sqlite:///{settings.db}")
with _engine.begin() as conn:
    conn.execute(text("CREATE TABLE IF NOT EXISTS replay (key TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL)"))
    conn.execute(text("CREATE TABLE IF NOT EXISTS asset (id TEXT PRIMARY KEY, owner TEXT NOT NULL, doc TEXT)"))
_engine.dispose()
_db = sqlite3.connect(settings.db, isolation_level=None, check_same_thread=False)
_db.execute("PRAGMA journal_mode=WAL")
_db.execute("PRAGMA synchronous=NORMAL")

app = FastAPI()


def _refuse(msg: str) -> JSONResponse:
    return JSONResponse({"error": 1, "msg": msg})


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@app.post("/api2/asset/get")
async def asset_get(request: Request) -> JSONResponse:
    form = parse_qs((await request.body()).decode())
    msg, sig = form.get("msg", [""])[0], form.get("sig", [""])[0]
    try:
        doc = json.loads(zlib.decompress(base64.b64decode(msg)))
    except (ValueError, zlib.error):
        return _refuse("bad msg")
    if doc.get("_owner") != settings.owner:
        return _refuse("unknown owner")
    if abs(time.time() - doc.get("_timestamp", 0)) > settings.skew_s:
        return _refuse("timestamp outside the window")
    expected = hmac.new(settings.key.encode(), msg.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.lower()):
        return _refuse("bad signature")
    now_ms = int(time.time() * 1000)
    pair = hashlib.sha256(msg.encode() + b"\0" + sig.encode()).hexdigest()
    seen = _db.execute("INSERT INTO replay VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET expires_ms = "
                       "excluded.expires_ms WHERE replay.expires_ms < ?",
                       (pair, now_ms + settings.skew_s * 1000, now_ms)).rowcount == 0
    if seen:
        return _refuse("replayed request")
    row = _db.execute("SELECT doc FROM asset WHERE id = ? AND owner = ?", (doc.get("id"), settings.owner)).fetchone()
    if row is None:
        return _refuse("asset not found")
    return JSONResponse({"asset": json.loads(row[0]), "error": 0})

