"""A worker's mirror of an object-store lake (picme.lake.store): which local file came from
which published object, and how downloaded files enter the mirror without a reader seeing
half of a table.

The mirror is a cache: everything in it can be pulled again from the bucket. Its state
file (``.remote-state.json``) records, per folder, the published generation and, per file,
the object key and the local (size, mtime) right after the download or upload, so an
unchanged file is neither downloaded nor uploaded again.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from picme.lake.commit import RECORD
from picme.util.atomic import atomic_open
from picme.util.generations import MANIFEST, hidden_name, pid_alive
from picme.util.generations import publish as swap_folder
from picme.util.locks import exclusive

STATE = ".remote-state.json"
LOCK = ".mirror.lock"
#: Seconds a pull or publish waits for another one on the same mirror.
LOCK_WAIT = 600.0

Fetch = Callable[[str, Path], bool]  # (key, local path) -> False when the object is gone


def local_files(folder: Path) -> dict[str, tuple[int, int]]:
    """rel path -> (size, mtime_ns) of the files a folder publishes: everything but hidden
    names (temporary files, resumable chunks), except a generation's manifest."""
    out: dict[str, tuple[int, int]] = {}
    if not folder.is_dir():
        return out
    for p in folder.rglob("*"):
        rel = p.relative_to(folder)
        hidden = any(part.startswith(".") for part in rel.parts)
        if (hidden and rel.as_posix() != MANIFEST) or not p.is_file() or p.is_symlink():
            continue
        st = p.stat()
        out[rel.as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def load_state(mirror: Path, uri: str) -> dict[str, Any]:
    """The mirror's record of what it holds; empty for another lake URI or none yet."""
    try:
        data = json.loads((mirror / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("uri") != uri:
        return {"uri": uri, "folders": {}}
    return data


def save_state(mirror: Path, state: dict[str, Any]) -> None:
    with atomic_open(mirror / STATE, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1, sort_keys=True)


def lock(mirror: Path) -> AbstractContextManager[None]:
    """One pull or publish at a time on a mirror (stages of one worker share it)."""
    return exclusive(
        mirror / LOCK,
        f"{mirror}: another PicMe process kept this lake mirror busy",
        wait=LOCK_WAIT,
    )


def drop_dead_commit(mirror: Path) -> None:
    """An ingest killed in the mirror after deciding its commit never published it: the
    bucket holds the truth, so its record is dropped, not rolled forward (rerunning the
    ingest does the work again). A live writer's record is left alone."""
    record = mirror / RECORD
    try:
        pid = int(json.loads(record.read_text(encoding="utf-8")).get("pid", 0))
    except (OSError, ValueError, AttributeError):
        return
    if pid != os.getpid() and not pid_alive(pid):
        record.unlink(missing_ok=True)


def is_fresh(entry: dict[str, Any], had: dict[str, Any] | None, local: Any) -> bool:
    """The local file is the published object ``entry``, untouched since it arrived."""
    return bool(had and had["key"] == entry["key"] and local and list(local) == had["stat"])


def state_entry(remote: dict[str, Any], target: Path) -> dict[str, Any]:
    """The state of one folder after it matches ``remote`` (a pointer entry)."""
    local = local_files(target)
    files = {
        rel: {"key": e["key"], "size": e["size"], "stat": list(local[rel])}
        for rel, e in remote["files"].items()
        if rel in local
    }
    return {"generation": remote["generation"], "files": files}


def pull_files(
    target: Path, files: dict[str, Any], stale: list[str], extra: list[str], fetch: Fetch
) -> bool:
    """Download ``stale`` files of a folder, then rename them all in and remove ``extra``;
    False (and nothing changed) when an object vanished under the download."""
    # Everything is downloaded beside its target first, then renamed in one run (as
    # picme.lake.commit does), so the local window of a mix is renames, not downloads.
    staged: list[tuple[Path, Path]] = []
    try:
        for rel in stale:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.parent / f".{dest.name}.{os.getpid()}.pull.tmp"
            staged.append((tmp, dest))
            if not fetch(files[rel]["key"], tmp):
                return False
        for tmp, dest in staged:
            os.replace(tmp, dest)
        for rel in extra:
            (target / rel).unlink(missing_ok=True)
    finally:
        for tmp, _dest in staged:
            tmp.unlink(missing_ok=True)
    return True


def pull_whole(target: Path, files: dict[str, Any], local: dict[str, Any], fetch: Fetch) -> bool:
    """A folder that is one generation on disk (picme.util.generations): downloaded whole
    into a staging folder, then swapped in whole."""
    if not files:
        for rel in local:
            (target / rel).unlink(missing_ok=True)
        return True
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = hidden_name(target, "partial")
    staging.mkdir()
    try:
        for rel, entry in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            if not fetch(entry["key"], staging / rel):
                return False
        swap_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True
