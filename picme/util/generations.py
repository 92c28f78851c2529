"""Outputs made of several files, published as one complete generation, and owned.

A multi-file output (the training set, a curation folder) is written whole into a hidden
staging folder beside its target, with a manifest (``.picme-manifest.json``) listing every
file picme wrote and a generation id. Publishing swaps the staging folder and the target in
one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``), so a reader sees the complete old
generation or the complete new one, never a mix and never nothing. The old generation then
sits in the hidden folder and is deleted; if the process dies first, the next run sweeps it.
Where the exchange is not available (another OS, a filesystem without it) the old folder is
renamed aside and the new one renamed in: a window of microseconds instead of none.

Ownership: picme deletes or replaces only files listed in a manifest it wrote. A folder
that is not empty and has no manifest is not picme's: :func:`check_owned` refuses it. Files
a user added inside a picme output (not in the manifest) are carried into the new
generation, so nothing of theirs is lost.

Readers that read several files of one generation use :func:`consistent_read`: it re-reads
the generation id after reading and tries again if a publish happened in between.

Every hidden name carries the writer's pid: :func:`sweep` removes the staging and old
folders (and temp files) of writers that are no longer running.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from picme.errors import InputError

MANIFEST = ".picme-manifest.json"
T = TypeVar("T")

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_HIDDEN = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)-[0-9a-f]{8}$")
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def hidden_name(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def sweep(folder: Path) -> list[Path]:
    """Remove the staging/old folders and temp files in ``folder`` left by dead writers."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        m = _HIDDEN.match(entry.name) or _TEMP.match(entry.name)
        if m is None or pid_alive(int(m.group("pid"))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "files" in data else None


def generation_of(folder: Path) -> str | None:
    m = read_manifest(folder)
    return None if m is None else str(m.get("generation"))


def check_owned(target: Path, *, legacy: Callable[[Path], bool] | None = None) -> None:
    """Refuse a non-empty ``target`` that picme did not write (one line naming it).

    ``legacy(target)``: True for an output written before manifests existed; such a folder
    is treated as picme's."""
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(f"output {target} is a file; give a folder (it is created if needed)")
    if read_manifest(target) is not None:
        return
    if legacy is not None and legacy(target):
        return
    if any(target.iterdir()):
        raise InputError(
            f"output folder {target} already holds other files, which PicMe did not write; "
            "give a new or empty folder (PicMe only replaces its own earlier output)"
        )


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False when the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: no exchange here
        return False
    raise OSError(err, os.strerror(err), str(a))


def _user_files(old: Path, manifest: dict[str, Any] | None) -> list[Path]:
    if manifest is None:
        return []
    ours = set(manifest.get("files", [])) | {MANIFEST}
    found = []
    for p in sorted(old.rglob("*")):
        rel = p.relative_to(old).as_posix()
        if p.is_file() and rel not in ours and not any(rel.startswith(f"{d}/") for d in ours):
            found.append(p)
    return found


def _carry_user_files(old: Path, new: Path) -> list[str]:
    carried = []
    for src in _user_files(old, read_manifest(old)):
        rel = src.relative_to(old)
        dst = new / rel
        if dst.exists():
            continue  # picme now writes that name itself; the old copy stays in old/
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        carried.append(rel.as_posix())
    return carried


def write_manifest(folder: Path, *, kind: str, user_files: list[str] | None = None) -> str:
    """List every file now in ``folder`` as picme's, except the user's; returns the new
    generation id."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    skip = {MANIFEST, *(user_files or [])}
    generation = uuid.uuid4().hex
    data: dict[str, Any] = {
        "kind": kind,
        "generation": generation,
        "files": [f for f in files if f not in skip],
    }
    if user_files:
        data["user_files"] = sorted(user_files)
    (folder / MANIFEST).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return generation


@contextlib.contextmanager
def new_generation(target: Path, *, kind: str) -> Iterator[Path]:
    """Yield an empty staging folder; on success, stamp its manifest, carry the user's
    files over from the current generation and publish it over ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep(target.parent)
    staging = hidden_name(target, "partial")
    staging.mkdir()
    try:
        yield staging
        user = _carry_user_files(target, staging) if target.is_dir() else []
        write_manifest(staging, kind=kind, user_files=user)
        publish(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, target: Path) -> None:
    """Make ``staging`` the new ``target`` in one step; delete the previous generation."""
    if not target.exists():
        os.rename(staging, target)
        return
    if exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # staging now holds the old generation
        return
    old = hidden_name(target, "old")
    os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def consistent_read(folder: Path, read: Callable[[Path], T], attempts: int = 5) -> T:
    """``read(folder)`` with the generation unchanged from before to after the read."""
    for _ in range(attempts):
        before = generation_of(folder)
        value = read(folder)
        if generation_of(folder) == before:
            return value
    raise InputError(f"{folder} kept changing while being read; try again")
