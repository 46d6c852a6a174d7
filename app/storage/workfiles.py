"""Work files: names that say which process writes them, and a sweep of those whose process died.

Media work happens beside its result and is renamed into place when complete: an ingest writes a
`.out.ingest.<tag>.<random>` folder next to `out/`, a GIF, clip or image a `.<name>.<tag>.<thread>.tmp`
file next to its final name. `<tag>` is `<pid>@<host>`. A worker killed with SIGKILL cannot clean
up, so its work files would stay for ever; `sweep_orphans` removes every tagged entry of this host
whose process is gone. It runs when a worker starts and before a job is run again after its lease
ran out. The host in the tag keeps a worker in one container (its own pid namespace, sharing the
data dir through a volume) from judging another container's files.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
from pathlib import Path

from lynkflow.logging import get_logger

log = get_logger("storage.workfiles")

# Where work files can appear, and how deep below each folder (media/<id>/.out.ingest…,
# vis/<content>/assets/.x.gif….tmp, uplynk/<owner>/<asset>/…). Finished outputs are not entered.
_SWEPT = {"media": 2, "vis": 3, "uplynk": 3, "tmp": 1}
_TAGGED = re.compile(r"^\..*\.(\d+)@([A-Za-z0-9-]+)\..+$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def owner_tag() -> str:
    return f"{os.getpid()}@{_host()}"


def tmp_beside(final: Path) -> Path:
    """The work file for `final`, in the same folder (so the rename into place is atomic)."""
    return final.with_name(f".{final.name}.{owner_tag()}.{threading.get_ident()}.tmp")


def work_dir_beside(final: Path, what: str) -> Path:
    """A new, empty work folder next to `final` (e.g. `.out.ingest.<tag>.k2j4`)."""
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.{what}.{owner_tag()}.", dir=final.parent))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    # A zombie (killed, not yet reaped) is dead for our purpose: it writes nothing.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def is_orphan(name: str, host: str | None = None) -> bool:
    """True for a work file name tagged by a process of this host that no longer runs."""
    m = _TAGGED.match(name)
    if m is None or m.group(2) != (host or _host()):
        return False
    pid = int(m.group(1))
    return pid != os.getpid() and not _alive(pid)


def sweep_orphans(root: Path) -> list[Path]:
    """Remove the orphaned work files under the data dir; returns what was removed."""
    host = _host()
    removed: list[Path] = []

    def visit(folder: Path, depth: int) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") and is_orphan(entry.name, host):
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
            elif depth > 0 and entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                visit(Path(entry.path), depth - 1)

    for sub, depth in _SWEPT.items():
        visit(root / sub, depth - 1)
    if removed:
        log.info("removed orphaned work files", extra={"fields": {"count": len(removed),
                                                                   "examples": [str(p) for p in removed[:5]]}})
    return removed
