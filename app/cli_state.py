"""`lynkflow export PATH` / `lynkflow import PATH`: whole-instance snapshots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_export(args: argparse.Namespace) -> int:
    from lynkflow.cli import _context
    from lynkflow.domain.snapshot import SnapshotError, export_snapshot

    ctx = _context()
    try:
        summary = export_snapshot(ctx, Path(args.path))
    except (SnapshotError, OSError) as exc:
        print(f"lynkflow export: {exc}", file=sys.stderr)
        return 1
    rows = sum(summary["tables"].values())
    print(f"exported {rows} rows and {summary['files']} files to {args.path} ({summary['bytes']} bytes)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from lynkflow.cli import _context
    from lynkflow.domain.snapshot import SnapshotError, import_snapshot

    path = Path(args.path)
    if not path.is_file():
        print(f"lynkflow import: no such file: {path}", file=sys.stderr)
        return 2
    ctx = _context()
    try:
        summary = import_snapshot(ctx, path)
    except SnapshotError as exc:
        print(f"lynkflow import: {exc}", file=sys.stderr)
        return 1
    rows = sum(summary["tables"].values())
    print(f"imported {rows} rows and {summary['files']} files from {path}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    e = sub.add_parser("export", help="write the whole state (database rows and stored files) to a .tar.gz")
    e.add_argument("path")
    e.set_defaults(fn=cmd_export)
    i = sub.add_parser("import", help="restore a snapshot .tar.gz into an empty instance")
    i.add_argument("path")
    i.set_defaults(fn=cmd_import)
