"""Seed files: the starting state of an instance (owners, keys, vuflows, media to ingest).

Format (JSON, `format: 1`)::

    {
      "format": 1,
      "uplynk": {"owners": [{"id": "<32 hex>" | "default", "name": "...",
                              "api_keys": ["secret", ...],
                              "libraries": [{"id": "<32 hex>", "desc": "...",
                                             "shared_with": ["<owner id>"]}]}]},
      "vis": {"api_keys": [{"key": "<guid>" | "default", "name": "..."}],
              "vuflows": [{"id": "<guid>", "name": "...", "apiKey": "default",
                           "configuration": {"storageUrlPublic": "{lynkflow}/storage/vis"}}]},
      "media": [{"synthetic": "<lynkflow.fixtures.synth STANDARD_CLIPS name>" | "path": "<file>",
                 "uplynk": {"owner": "default", "external_id": "...", "desc": "...", "meta": {},
                            "libraries": ["<library id>"]},
                 "vis": {"apiKey": "default", "vuflowId": "<guid>", "title": "..."}}]
    }

"default" stands for the account configured by LYNKFLOW_UPLYNK_OWNER / _API_KEY and
LYNKFLOW_VUFLOW_API_KEY. In a vuflow's configuration, `{lynkflow}` inside storageUrlPublic is
replaced by this instance's public base URL when asset URLs are built, so one seed works on any
host and port. A `path` is relative to the seed file. Media items are ingested through the job
queue (see app/domain/ingest.py), so applying a seed returns at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lynkflow.context import AppContext
from lynkflow.db.idempotent import insert_missing
from lynkflow.db.models import (
    Job,
    KeyValue,
    UplynkApiKey,
    UplynkLibrary,
    UplynkOwner,
    VisApiKey,
    VisVuflow,
)
from lynkflow.domain.uplynk_libraries import share_library
from lynkflow.domain.vis_vuflows import ensure_default_vuflow
from lynkflow.fixtures import FIXTURES_DIR
from lynkflow.jobs.queue import CANCELLED, FAILED, FINAL_STATES

SEED_FORMAT = 1
SEED_MARKER = "seed_applied"
SEED_JOBS = "seed_media_jobs"  # JSON list of the ingest job ids of the seed's media
# Seed files are small JSON documents; a bigger file named as a seed is a mistake (a database,
# a video) and is refused without reading it all.
MAX_SEED_FILE_BYTES = 16 * 1024 * 1024


class SeedError(ValueError):
    """A seed file that cannot be applied, with the reason."""


def ensure_default_accounts(ctx: AppContext) -> None:
    """The configured Uplynk owner/key and VIS key always exist (idempotent).

    Several processes may do this at once on one database (processes starting together, a reset
    through one API process while another starts): the rows keyed by the configuration are inserted
    unless present, in one statement each (`db.idempotent`). A second pass covers what that cannot:
    a reset that removes the owner between its insert and the API key's.
    """
    for attempt in (1, 2):
        try:
            _ensure_default_accounts(ctx)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _ensure_default_accounts(ctx: AppContext) -> None:
    s = ctx.settings
    now = ctx.clock.now_ms()
    with ctx.session() as db:
        insert_missing(db, UplynkOwner, id=s.uplynk_owner, name="Default owner", created=now)
        exists = db.scalar(
            select(UplynkApiKey).where(
                UplynkApiKey.owner_id == s.uplynk_owner, UplynkApiKey.secret == s.uplynk_api_key
            )
        )
        if exists is None:
            from lynkflow import ids

            db.add(UplynkApiKey(id=ids.hex32(), owner_id=s.uplynk_owner, secret=s.uplynk_api_key, created=now))
        if insert_missing(db, VisApiKey, key=s.vuflow_api_key, name="Default key", created=now):
            ensure_default_vuflow(db, s.vuflow_api_key, now)


def is_seeded(ctx: AppContext) -> bool:
    with ctx.session() as db:
        return db.get(KeyValue, SEED_MARKER) is not None


def load_seed_file(path: Path) -> dict[str, Any]:
    """Read a seed file; a relative path that is not found is looked up in the bundled fixtures,
    so `demo/seed.json` names the demo seed wherever lynkflow is installed."""
    if not path.is_absolute() and not path.exists() and (FIXTURES_DIR / path).is_file():
        path = FIXTURES_DIR / path
    try:
        size = path.stat().st_size
        if size > MAX_SEED_FILE_BYTES:
            raise SeedError(f"seed file {path} is {size} bytes; a seed is a JSON file of at most "
                            f"{MAX_SEED_FILE_BYTES // (1024 * 1024)} MB")
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise SeedError(f"seed file not found: {path}") from None
    except UnicodeDecodeError:
        raise SeedError(f"seed file {path} is not UTF-8 JSON text (is it a binary file?)") from None
    except OSError as exc:
        raise SeedError(f"seed file {path} cannot be read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SeedError(f"seed file {path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != SEED_FORMAT:
        raise SeedError(f"seed file {path} must be a JSON object with \"format\": {SEED_FORMAT}")
    doc["_base_dir"] = str(path.resolve().parent)
    return doc


def apply_seed(ctx: AppContext, doc: dict[str, Any]) -> dict[str, int]:
    """Apply a seed document; returns counts of what it created. Re-applying is idempotent."""
    ensure_default_accounts(ctx)
    s = ctx.settings
    counts = {"owners": 0, "api_keys": 0, "libraries": 0, "vis_api_keys": 0, "vuflows": 0, "media": 0}
    now = ctx.clock.now_ms()

    def owner_id(value: str) -> str:
        return s.uplynk_owner if value == "default" else value

    def vis_key(value: str) -> str:
        return s.vuflow_api_key if value == "default" else value

    with ctx.session() as db:
        for o in doc.get("uplynk", {}).get("owners", []):
            oid = owner_id(o.get("id", "default"))
            if db.get(UplynkOwner, oid) is None:
                db.add(UplynkOwner(id=oid, name=o.get("name", ""), created=now))
                db.flush()
                counts["owners"] += 1
            for secret in o.get("api_keys", []):
                if not db.scalar(select(UplynkApiKey).where(UplynkApiKey.secret == secret,
                                                            UplynkApiKey.owner_id == oid)):
                    from lynkflow import ids

                    db.add(UplynkApiKey(id=ids.hex32(), owner_id=oid, secret=secret, created=now))
                    counts["api_keys"] += 1
        db.flush()
        for o in doc.get("uplynk", {}).get("owners", []):
            oid = owner_id(o.get("id", "default"))
            for lib in o.get("libraries", []):
                if db.get(UplynkLibrary, lib["id"]) is None:
                    db.add(UplynkLibrary(id=lib["id"], owner_id=oid, desc=lib.get("desc", ""),
                                         created=now, lastmod=now))
                    db.flush()
                    counts["libraries"] += 1
                for other in lib.get("shared_with", []):
                    share_library(db, lib["id"], owner_id(other))
        for k in doc.get("vis", {}).get("api_keys", []):
            key = vis_key(k.get("key", "default"))
            if db.get(VisApiKey, key) is None:
                db.add(VisApiKey(key=key, name=k.get("name", ""), created=now))
                db.flush()
                ensure_default_vuflow(db, key, now)
                counts["vis_api_keys"] += 1
        db.flush()
        for v in doc.get("vis", {}).get("vuflows", []):
            if db.get(VisVuflow, v["id"]) is None:
                config = v.get("configuration", {})
                db.add(VisVuflow(id=v["id"], api_key=vis_key(v.get("apiKey", "default")),
                                 name=v.get("name", ""), configuration_json=json.dumps(config),
                                 created=now, modified=now))
                counts["vuflows"] += 1
        if db.get(KeyValue, SEED_MARKER) is None:
            db.add(KeyValue(key=SEED_MARKER, value=str(now)))

    media_items = doc.get("media", [])
    if media_items:
        from lynkflow.domain.ingest import ingest_seed_media

        job_ids = ingest_seed_media(ctx, media_items, Path(doc.get("_base_dir", ".")))
        counts["media"] = len(job_ids)
        with ctx.session() as db:
            row = db.get(KeyValue, SEED_JOBS)
            if row is None:
                db.add(KeyValue(key=SEED_JOBS, value=json.dumps(job_ids)))
            else:
                row.value = json.dumps(job_ids)
    return counts


def seed_progress(ctx: AppContext) -> dict[str, Any]:
    """Whether a seed was applied and how far the ingest jobs of its media are (the last
    application that had media): what `lynkflow wait --seeded` waits for."""
    with ctx.read_session() as db:  # polled: never take SQLite's write lock for it
        applied = db.get(KeyValue, SEED_MARKER) is not None
        row = db.get(KeyValue, SEED_JOBS)
        job_ids = json.loads(row.value) if row is not None else []
        states = dict(db.execute(select(Job.id, Job.state).where(Job.id.in_(job_ids))).all()) if job_ids else {}
    # A job that no longer exists was removed with its data: it has nothing left to wait for.
    failed = sorted(jid for jid, state in states.items() if state in (FAILED, CANCELLED))
    pending = sum(1 for state in states.values() if state not in FINAL_STATES)
    return {"applied": applied, "mediaJobs": len(job_ids), "pending": pending, "failed": failed}
