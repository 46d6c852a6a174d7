"""Snapshots: the whole state of an instance (every table's rows and every stored file) in one
`.tar.gz`, and the way back into an empty instance.

Archive layout::

    lynkflow-snapshot.json   {"format": "lynkflow-snapshot", "format_version": 1,
                              "alembic_revision": "...", "created": <ms>, "tables": {name: [row, ...]},
                              "files": [{"path": "media/<id>/source.mp4", "size": n, "sha256": "..."}]}
    files/<path>             each file under the data dir, except the SQLite database and tmp/

Import refuses a non-empty instance (anything beyond the default accounts, or any stored file)
and an archive from another schema revision, restores rows in dependency order in one
transaction, places files byte-for-byte (checked against the manifest's sizes and digests), and
moves PostgreSQL's id sequences past the imported ids. Nothing is written until the archive has
been read and checked in full.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, func, select, text

from lynkflow import __version__, ids
from lynkflow.context import AppContext
from lynkflow.db.migrate import current_revision
from lynkflow.db.models import Base, KeyValue, UplynkApiKey, UplynkOwner, VisApiKey, VisVuflow
from lynkflow.db.presence import PREFIX as PRESENCE_PREFIX
from lynkflow.db.wipe import clear_table
from lynkflow.domain.vis_vuflows import default_vuflow_id
from lynkflow.seeding import ensure_default_accounts
from lynkflow.storage.paths import UnsafePath, safe_join

FORMAT = "lynkflow-snapshot"
FORMAT_VERSION = 1
MANIFEST = "lynkflow-snapshot.json"
FILES_PREFIX = "files/"
# Folders of the data dir whose files are state (inbox/ is input material: exported, not a blocker).
STATE_DIRS = ("media", "uplynk", "vis")
# Tables that hold housekeeping facts rather than user data: never make an instance "non-empty".
_HOUSEKEEPING = {"lynkflow_kv"}
# Control-plane state (clock, lifecycles, fault rules) belongs to the running instance, not to its
# data: neither exported, nor checked for emptiness, nor replaced by an import.
_CONTROL = {"control_state", "control_faults", "control_replay", "control_journal"}


def _data_tables() -> list[Any]:
    return [t for t in Base.metadata.sorted_tables if t.name not in _CONTROL]


class SnapshotError(ValueError):
    """A snapshot that cannot be written or imported, with what to do about it."""


def _excluded(ctx: AppContext, rel: str) -> bool:
    if rel == "tmp" or rel.startswith("tmp/"):
        return True
    if ctx.settings.is_sqlite:
        db_file = Path(ctx.settings.resolved_database_url.split("///", 1)[-1]).resolve()
        try:
            db_rel = db_file.relative_to(ctx.storage.root).as_posix()
        except ValueError:
            return False
        # The database and its -wal / -shm / -journal companions.
        return rel == db_rel or rel.startswith(db_rel + "-")
    return False


# With an object store these folders live there; the data dir holds only a cache of them.
_STORED = ("media", "uplynk", "vis")


def stored_files(ctx: AppContext) -> list[str]:
    """Relative paths of every regular file the snapshot carries, sorted."""
    root = ctx.storage.root
    remote = ctx.storage.remote
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if remote and Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d not in _STORED]
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            if not _excluded(ctx, rel):
                found.append(rel)
    if remote:
        for sub in _STORED:
            found += ctx.storage.list_files(sub)
    return sorted(found)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


def table_rows(ctx: AppContext) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    with ctx.engine.connect() as conn:
        for table in _data_tables():
            order = list(table.primary_key.columns)
            query = select(table).order_by(*order)
            if table.name == KeyValue.__tablename__:  # running processes' leases are not state
                query = query.where(~table.c.key.startswith(PRESENCE_PREFIX))
            tables[table.name] = [dict(r) for r in conn.execute(query).mappings()]
    return tables


def export_snapshot(ctx: AppContext, out_path: Path) -> dict[str, Any]:
    """Write the snapshot archive to out_path (atomically); returns a summary."""
    tables = table_rows(ctx)
    files = []
    for rel in stored_files(ctx):
        path = ctx.storage.local_file(rel)
        files.append({"path": rel, "size": path.stat().st_size, "sha256": _sha256(path)})
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "alembic_revision": current_revision(ctx.engine),
                "lynkflow_version": __version__, "created": ctx.clock.now_ms(), "tables": tables, "files": files}
    data = json.dumps(manifest, separators=(",", ":"), default=_json_default).encode()
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + f".{ids.hex32()[:8]}.partial")
    try:
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = manifest["created"] // 1000
            tar.addfile(info, io.BytesIO(data))
            for f in files:
                # Always a regular member: tar would record a second name of a hard-linked file
                # (ingest links renditions into event folders) as a link, which import refuses.
                path = ctx.storage.local_file(f["path"])
                member = tarfile.TarInfo(FILES_PREFIX + f["path"])
                member.size = f["size"]
                member.mtime = int(path.stat().st_mtime)
                member.mode = 0o644
                with path.open("rb") as src:
                    tar.addfile(member, src)
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return {"tables": {k: len(v) for k, v in tables.items()}, "files": len(files),
            "bytes": out_path.stat().st_size}


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        raise SnapshotError("binary column values cannot be exported")
    raise TypeError(f"cannot export a {type(value).__name__} value")


def emptiness_problems(ctx: AppContext) -> list[str]:
    """Why this instance is not empty (an empty list when it is)."""
    s = ctx.settings
    problems = []
    with ctx.session() as db:
        for table in _data_tables():
            if table.name in _HOUSEKEEPING:
                continue
            query = select(func.count()).select_from(table)
            # The default accounts are recreated on every start and reset; they do not count.
            if table.name == UplynkOwner.__tablename__:
                query = query.where(table.c.id != s.uplynk_owner)
            elif table.name == UplynkApiKey.__tablename__:
                query = query.where((table.c.owner_id != s.uplynk_owner) | (table.c.secret != s.uplynk_api_key))
            elif table.name == VisApiKey.__tablename__:
                query = query.where(table.c.key != s.vuflow_api_key)
            elif table.name == VisVuflow.__tablename__:
                query = query.where(table.c.id != default_vuflow_id(s.vuflow_api_key))
            n = db.scalar(query) or 0
            if n:
                problems.append(f"{n} row(s) in {table.name}")
    files = [rel for rel in stored_files(ctx) if rel.split("/", 1)[0] in STATE_DIRS]
    if files:
        problems.append(f"{len(files)} stored file(s) (e.g. {files[0]})")
    return problems


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise SnapshotError(f"not a lynkflow snapshot: the archive has no {MANIFEST}") from None
    f = tar.extractfile(member)
    if f is None:
        raise SnapshotError(f"not a lynkflow snapshot: {MANIFEST} is not a file")
    try:
        manifest = json.loads(f.read())
    except ValueError as exc:
        raise SnapshotError(f"{MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SnapshotError(f"not a lynkflow snapshot: {MANIFEST} has no \"format\": \"{FORMAT}\"")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise SnapshotError(f"snapshot format_version {manifest.get('format_version')!r} is not supported "
                            f"(this lynkflow reads version {FORMAT_VERSION})")
    if not isinstance(manifest.get("tables"), dict) or not isinstance(manifest.get("files"), list):
        raise SnapshotError(f"{MANIFEST} must hold \"tables\" (object) and \"files\" (list)")
    return manifest


def _check_rows(manifest: dict[str, Any]) -> None:
    known = {t.name: t for t in _data_tables()}
    for name, rows in manifest["tables"].items():
        table = known.get(name)
        if table is None:
            raise SnapshotError(f"snapshot has rows for unknown table {name!r}")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise SnapshotError(f"snapshot rows of {name} must be a list of objects")
        columns = set(table.c.keys())
        for row in rows:
            extra = set(row) - columns
            if extra:
                raise SnapshotError(f"snapshot rows of {name} have unknown column(s) {', '.join(sorted(extra))}")


def _stage_files(ctx: AppContext, tar: tarfile.TarFile, manifest: dict[str, Any], staging: Path) -> list[str]:
    expected = {}
    for f in manifest["files"]:
        if not isinstance(f, dict) or not isinstance(f.get("path"), str):
            raise SnapshotError("each entry of \"files\" needs a \"path\"")
        expected[f["path"]] = f
    placed = []
    for member in tar:
        if member.name == MANIFEST:
            continue
        if member.isdir():
            continue
        if not member.isfile():
            raise SnapshotError(f"snapshot member {member.name!r} is not a regular file (links are refused)")
        if not member.name.startswith(FILES_PREFIX):
            raise SnapshotError(f"snapshot member {member.name!r} is outside {FILES_PREFIX}")
        rel = member.name[len(FILES_PREFIX):]
        try:
            safe_join(ctx.storage.root, rel)
            target = safe_join(staging, rel)
        except UnsafePath as exc:
            raise SnapshotError(f"snapshot member {member.name!r} has an unsafe path: {exc}") from None
        if _excluded(ctx, rel):
            raise SnapshotError(f"snapshot member {member.name!r} would overwrite the database or tmp/")
        info = expected.get(rel)
        if info is None:
            raise SnapshotError(f"snapshot member {member.name!r} is not listed in the manifest")
        target.parent.mkdir(parents=True, exist_ok=True)
        src = tar.extractfile(member)
        assert src is not None
        h = hashlib.sha256()
        with target.open("wb") as out:
            for chunk in iter(functools.partial(src.read, 1024 * 1024), b""):
                h.update(chunk)
                out.write(chunk)
        if target.stat().st_size != info.get("size") or h.hexdigest() != info.get("sha256"):
            raise SnapshotError(f"snapshot file {rel} does not match its size/sha256 in the manifest "
                                "(the archive is damaged)")
        placed.append(rel)
    missing = sorted(set(expected) - set(placed))
    if missing:
        raise SnapshotError(f"snapshot is missing {len(missing)} file(s) listed in its manifest, e.g. {missing[0]}")
    return placed


def _fix_sequences(conn: Any) -> None:
    """PostgreSQL: move each serial id's sequence past the largest imported id."""
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer) or pk[0].autoincrement is False:
            continue
        col = pk[0].name
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col}'), "
            f"COALESCE((SELECT MAX({col}) FROM {table.name}), 0) + 1, false) "
            f"WHERE pg_get_serial_sequence('{table.name}', '{col}') IS NOT NULL"))


def import_snapshot(ctx: AppContext, archive: Path) -> dict[str, Any]:
    """Restore a snapshot into this (empty) instance; returns a summary."""
    try:
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115 - closed by the `with tar:` below
    except (tarfile.TarError, OSError) as exc:
        raise SnapshotError(f"not a readable .tar.gz snapshot: {exc}") from None
    staging = ctx.storage.tmp / f"import-{ids.hex32()[:12]}"
    try:
        with tar:
            manifest = _read_manifest(tar)
            revision = current_revision(ctx.engine)
            if manifest.get("alembic_revision") != revision:
                raise SnapshotError(f"snapshot was taken at schema revision {manifest.get('alembic_revision')!r}, "
                                    f"this database is at {revision!r}; import it with the lynkflow version "
                                    "that wrote it, or migrate both to the same revision")
            _check_rows(manifest)
            problems = emptiness_problems(ctx)
            if problems:
                raise SnapshotError("import needs an empty instance, but this one has " + "; ".join(problems)
                                    + ". Reset it first (POST /_lynkflow/reset or `lynkflow reset`)")
            staging.mkdir(parents=True, exist_ok=True)
            placed = _stage_files(ctx, tar, manifest, staging)
        counts = {}
        with ctx.engine.begin() as conn:
            for table in reversed(_data_tables()):
                clear_table(conn, table)
            for table in _data_tables():
                rows = manifest["tables"].get(table.name) or []
                if rows:
                    conn.execute(table.insert(), rows)
                counts[table.name] = len(rows)
            if conn.dialect.name == "postgresql":
                _fix_sequences(conn)
        for rel in placed:
            target = ctx.storage.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
            if rel.split("/", 1)[0] in _STORED:
                ctx.storage.publish(rel)
    except tarfile.TarError as exc:
        raise SnapshotError(f"the snapshot archive is damaged: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    ensure_default_accounts(ctx)
    return {"tables": counts, "files": len(placed), "alembic_revision": manifest.get("alembic_revision")}
