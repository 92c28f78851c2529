"""Where the lake is kept: a folder under PICME_HOME (the default) or an S3-compatible
bucket (``PICME_LAKE_URI=s3://bucket/prefix``).

On disk nothing here runs: :func:`pull` and :func:`publish` return at once and every stage
reads and writes ``settings.lake_dir`` as it always has.

On an object store, ``settings.lake_dir`` is this worker's *mirror* of the lake
(``PICME_HOME/cache/lake-mirror``). A stage pulls the tables it reads into the mirror,
works on local files as on disk (DuckDB, pyarrow), and publishes the tables it wrote:

* **Publish.** Every new or changed file of the published tables is uploaded under a fresh
  generation prefix (``<prefix>/<table>/<generation>/<file>``); nothing yet points there.
  Then the one pointer object ``<prefix>/_lake.json``, which lists every table's current
  files, is replaced with a conditional put (If-Match on the ETag just read, If-None-Match
  for the first one). That put is the commit: the tables of one publish (all four of an
  ingest, the whole training set) become visible together or not at all. Only then are the
  files of the replaced generations deleted: they were listed in PicMe's pointer, so PicMe
  wrote them.
* **Pull.** Read the pointer, then download the listed files that the mirror lacks; a file
  deleted by a newer publish in between sends the reader back to the pointer. The mirror
  then holds one published state per table, and locally the same rename (and, for the
  training folder, exchange) steps make it appear whole, as on disk.
* **Writers on several machines.** A publish checks that no one else published its tables
  since this stage pulled them; if someone did, it removes its own uploads and stops with
  one line (run the stage again). Publishes of different tables are merged. A publish
  killed before its pointer put leaves its uploads unreferenced; they are listed in
  ``<prefix>/_pending/<generation>.json`` before the upload starts, and a later publish
  removes the listed objects once the record is a day old.

:func:`table_dataset` opens a table straight from the bucket as a pyarrow dataset, which
DuckDB queries without its httpfs extension.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picme.errors import InputError
from picme.lake import mirror as mirrors
from picme.lake.objstore import Bucket, Location, ObjectStoreError, endpoint_url, parse_uri
from picme.lake.paths import PARTITIONED, SINGLE_FILE

if TYPE_CHECKING:
    import pyarrow.dataset as ds

    from picme.settings import Settings

log = logging.getLogger(__name__)

POINTER = "_lake.json"
PENDING = "_pending"
#: Unreferenced uploads of a publish killed before its commit are removed after this.
PENDING_TTL = timedelta(days=1)
#: The lake's top-level folders, one per published table (training holds the training set).
FOLDERS = ("posts", "profiles", "media", "post_observations", "image_features", "training")
#: What one ingest writes, published as one generation (picme.lake.commit on disk).
INGEST = ("posts", "profiles", "media", "post_observations")
#: Folders that are one generation on disk too (picme.util.generations): swapped whole.
_WHOLE = frozenset({"training"})


class LakeConflict(ObjectStoreError):
    """Another writer published the same table while this stage ran."""


def folder_of(table: str) -> str:
    """The lake folder a table's files live in."""
    if table in SINGLE_FILE:
        return Path(SINGLE_FILE[table]).parts[0]
    return table


def object_lake(settings: Settings) -> ObjectLake | None:
    """The object-store lake of ``settings``, or None when the lake is on disk."""
    uri = getattr(settings, "lake_uri", None)
    if not uri:
        return None
    return ObjectLake(parse_uri(uri), Path(settings.lake_dir))


def pull(settings: Settings, folders: Iterable[str]) -> None:
    """Bring the mirror's ``folders`` up to the published lake (nothing on disk)."""
    lake = object_lake(settings)
    if lake is not None:
        lake.pull(folders)


def publish(settings: Settings, folders: Iterable[str]) -> None:
    """Publish the mirror's ``folders`` as one generation (nothing on disk)."""
    lake = object_lake(settings)
    if lake is not None:
        lake.publish(folders)


def table_dataset(settings: Settings, table: str) -> ds.Dataset:
    """A published table read from the bucket through pyarrow (``duckdb.sql("select ...
    from dataset")`` works on it); on disk, the local files."""
    import pyarrow.dataset as ds

    lake = object_lake(settings)
    if lake is None:
        from picme.lake.tables import table_files

        return ds.dataset([str(p) for p in table_files(settings, table)], format="parquet")
    return lake.dataset(table)


class ObjectLake:
    """The lake in a bucket, mirrored into ``mirror`` on this worker."""

    def __init__(self, location: Location, mirror: Path) -> None:
        self.location = location
        self.mirror = mirror
        self.bucket = Bucket(location)

    def pointer(self) -> tuple[dict[str, Any], str | None]:
        data, etag = self.bucket.get_json(self.location.key(POINTER))
        if etag is None:  # no pointer yet: an empty lake
            return {"format": 1, "folders": {}}, None
        # JSON that is not an object (data None) is someone else's too: never overwritten.
        if data is None or not isinstance(data.get("folders"), dict):
            raise ObjectStoreError(
                f"{self.location.uri}: {POINTER} is not a PicMe lake pointer; point "
                "PICME_LAKE_URI at another prefix"
            )
        return data, etag

    # -- pull --

    def pull(self, folders: Iterable[str], attempts: int = 5) -> None:
        wanted = list(dict.fromkeys(folders))
        self.mirror.mkdir(parents=True, exist_ok=True)
        with mirrors.lock(self.mirror):
            mirrors.drop_dead_commit(self.mirror)
            for _ in range(attempts):
                pointer, _etag = self.pointer()
                state = mirrors.load_state(self.mirror, self.location.uri)
                done = all(self._pull_folder(f, pointer, state) for f in wanted)
                mirrors.save_state(self.mirror, state)  # what did arrive, even if not all
                if done:
                    return
        raise ObjectStoreError(
            f"{self.location.uri}: the lake kept changing while being read; try again"
        )

    def _pull_folder(self, folder: str, pointer: dict[str, Any], state: dict[str, Any]) -> bool:
        """Make the mirror's ``folder`` the published one; False when an object vanished
        under the download (a newer publish)."""
        remote = pointer["folders"].get(folder) or {"generation": None, "files": {}}
        files: dict[str, dict[str, Any]] = remote["files"]
        seen = (state["folders"].get(folder) or {}).get("files", {})
        target = self.mirror / folder
        local = mirrors.local_files(target)
        stale = [r for r, e in files.items() if not mirrors.is_fresh(e, seen.get(r), local.get(r))]
        extra = [r for r in local if r not in files]
        if not stale and not extra:
            state["folders"][folder] = mirrors.state_entry(remote, target)
            return True
        if folder in _WHOLE:
            ok = mirrors.pull_whole(target, files, local, self.bucket.download)
        else:
            ok = mirrors.pull_files(target, files, stale, extra, self.bucket.download)
        if ok:
            state["folders"][folder] = mirrors.state_entry(remote, target)
        return ok

    # -- publish --

    def publish(self, folders: Iterable[str], attempts: int = 10) -> None:
        wanted = list(dict.fromkeys(folders))
        self.mirror.mkdir(parents=True, exist_ok=True)
        with mirrors.lock(self.mirror):
            self._sweep_pending()
            state = mirrors.load_state(self.mirror, self.location.uri)
            generation = uuid.uuid4().hex
            changed, uploads = self._changes(wanted, state, generation)
            if not changed:
                return
            record = self.location.key(PENDING, f"{generation}.json")
            keys = [key for _path, key in uploads]
            self.bucket.put_bytes(record, json.dumps({"keys": keys}).encode("utf-8"))
            try:
                for path, key in uploads:
                    self.bucket.upload(path, key)
                old = self._commit(changed, state, attempts)
            except BaseException:
                # Not committed: nothing points at these uploads; remove them now.
                self.bucket.delete([*keys, record])
                raise
            live = {e["key"] for f in changed.values() for e in f["files"].values()}
            dead = [k for k in old if k not in live]
            if dead:
                self.bucket.delete(dead)
            self.bucket.delete([record])
            for folder, entry in changed.items():
                state["folders"][folder] = mirrors.state_entry(entry, self.mirror / folder)
            mirrors.save_state(self.mirror, state)
            log.info("published %s to %s", ", ".join(changed), self.location.uri)

    def _changes(
        self, folders: list[str], state: dict[str, Any], generation: str
    ) -> tuple[dict[str, dict[str, Any]], list[tuple[Path, str]]]:
        """The new pointer entry of each folder that differs from what was pulled, and the
        (file, key) uploads it needs; unchanged files keep their published object."""
        changed: dict[str, dict[str, Any]] = {}
        uploads: list[tuple[Path, str]] = []
        for folder in folders:
            seen = (state["folders"].get(folder) or {}).get("files", {})
            files: dict[str, dict[str, Any]] = {}
            for rel, stat in sorted(mirrors.local_files(self.mirror / folder).items()):
                had = seen.get(rel)
                if had and had["stat"] == list(stat):
                    files[rel] = {"key": had["key"], "size": had["size"]}
                    continue
                key = self.location.key(folder, generation, rel)
                files[rel] = {"key": key, "size": stat[0]}
                uploads.append((self.mirror / folder / rel, key))
            if {r: e["key"] for r, e in files.items()} != {r: e["key"] for r, e in seen.items()}:
                changed[folder] = {"generation": generation, "files": files}
        return changed, uploads

    def _commit(
        self, changed: dict[str, dict[str, Any]], state: dict[str, Any], attempts: int
    ) -> list[str]:
        """Move the pointer to ``changed`` with a conditional put; returns the keys of the
        generations it replaced."""
        old: list[str] | None = None
        for _ in range(attempts):
            pointer, etag = self.pointer()
            if old is not None and all(
                (pointer["folders"].get(f) or {}).get("generation") == e["generation"]
                for f, e in changed.items()
            ):
                # An earlier put landed but its answer was lost, and boto's retry of it
                # was refused (412): the commit is this run's own, not a conflict.
                return old
            for folder in changed:
                now = (pointer["folders"].get(folder) or {}).get("generation")
                base = (state["folders"].get(folder) or {}).get("generation")
                if now != base:
                    raise LakeConflict(
                        f"{self.location.uri}: another worker published {folder} while this "
                        "run was working from an older copy; nothing of this run was "
                        "published, run it again"
                    )
            old = [
                e["key"]
                for folder in changed
                for e in ((pointer["folders"].get(folder) or {}).get("files") or {}).values()
            ]
            new = dict(pointer)
            new["folders"] = {**pointer["folders"], **changed}
            new.update(format=1, writer="picme", updated_at=datetime.now(UTC).isoformat())
            if self.bucket.put_json(self.location.key(POINTER), new, if_match=etag):
                return old
            time.sleep(0.05)  # another table's publish won the race: merge with it
        raise ObjectStoreError(
            f"{self.location.uri}: {POINTER} kept changing under this publish; try again"
        )

    def _sweep_pending(self) -> None:
        """Uploads of publishes killed before their commit, once their record is old."""
        now = datetime.now(UTC)
        old = [
            key
            for key, modified in self.bucket.listing(self.location.key(PENDING) + "/")
            if now - modified >= PENDING_TTL
        ]
        if not old:
            return
        # One pointer read for all records: a record this old is of a publish that ended
        # (killed, or committed before dropping it), so no commit adds its keys meanwhile.
        pointer, _ = self.pointer()
        live = {e["key"] for f in pointer["folders"].values() for e in f.get("files", {}).values()}
        for key in old:
            data, _ = self.bucket.get_json(key)
            listed = [k for k in (data or {}).get("keys", []) if isinstance(k, str)]
            self.bucket.delete([k for k in listed if k not in live] + [key])

    # -- direct reads --

    def dataset(self, table: str) -> ds.Dataset:
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs

        folder = folder_of(table)
        pointer, _ = self.pointer()
        files = (pointer["folders"].get(folder) or {}).get("files", {})
        name = None if table in PARTITIONED else Path(SINGLE_FILE.get(table, "x/x")).name
        keys = [
            e["key"]
            for rel, e in sorted(files.items())
            if rel.endswith(".parquet") and (name is None or rel == name)
        ]
        if not keys:
            raise InputError(f"{self.location.uri}: no {table} table published yet")
        endpoint = endpoint_url()
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        fs = pafs.S3FileSystem(endpoint_override=endpoint, region=region or "us-east-1")
        bucket = self.location.bucket
        return ds.dataset([f"{bucket}/{k}" for k in keys], filesystem=fs, format="parquet")
