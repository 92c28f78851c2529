"""Ingest: instaloader trees in raw/ into the Parquet lake (picme.lake.tables).

Three steps: scan (:mod:`.scan`: which files there are), parse (:mod:`.parse` and
:mod:`.media`: the files read and checked, offline, skipping every file the lake already
holds unchanged) and merge (:mod:`.merge`: DuckDB joins of the new rows with the stored
tables). Then each table that changed is replaced by write-then-rename, posts last.

Ingest is idempotent and never loses what the lake holds: a post's latest observation wins in
``posts``, every observation is kept in ``post_observations``, and bad files are listed with
a one-line reason while the rest is ingested.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from instaloader import Post, Profile

from picme.lake import store
from picme.lake import tables as lake
from picme.lake.commit import commit, roll_forward
from picme.lake.config import IngestConfig
from picme.lake.media import MediaChecker
from picme.lake.merge import Merger
from picme.lake.parse import (
    BadFile,
    classify_likes,
    load_structure,
    mtime_utc,
    ns_to_utc,
    offline_context,
    post_record,
    profile_row,
    snapshot_rows,
)
from picme.lake.paths import SINGLE_FILE, lake_paths
from picme.lake.report import IngestReport
from picme.lake.scan import Target, find_targets, map_images, meta_base, scan_target
from picme.lake.stored import Stat, Stored
from picme.settings import Settings, get_settings
from picme.util import progress
from picme.util.generations import sweep
from picme.util.locks import exclusive

log = logging.getLogger(__name__)


def ingest(config: IngestConfig, settings: Settings | None = None) -> IngestReport:
    """:func:`ingest_raw` with the options of ``config`` (raw folders default to raw/)."""
    settings = settings or get_settings()
    if config.workers:
        settings = settings.model_copy(update={"workers": config.workers})
    return ingest_raw(config.raw_dirs or [settings.raw_dir], settings)


def ingest_raw(raw_dirs: Sequence[Path | str], settings: Settings | None = None) -> IngestReport:
    """Ingest instaloader trees (root folders of targets, or target folders) into the lake."""
    settings = settings or get_settings()
    report = IngestReport(lake_dir=settings.lake_dir)
    targets = find_targets([Path(d) for d in raw_dirs], report)
    report.targets = len(targets)
    # One ingest at a time per lake: a second concurrent run would drop the first's rows.
    with exclusive(
        lake_paths(settings).ingest_lock,
        f"{settings.lake_dir}: another `picme ingest` is writing this lake; wait for it to finish",
    ):
        store.pull(settings, store.INGEST)  # an object-store lake: into this worker's mirror
        roll_forward(settings)
        sweep_lake(settings)
        _ingest(targets, settings, report)
        store.publish(settings, store.INGEST)
    return report


def sweep_lake(settings: Settings) -> None:
    """Temp files a killed writer left in the lake's folders (never a live writer's: the
    ingest lock is held, and each name carries its writer's pid)."""
    paths = lake_paths(settings)
    for folder in (
        paths.root,
        *(paths.table(n).parent for n in SINGLE_FILE),
        paths.observations_dir,
    ):
        sweep(folder)


@dataclass
class Found:
    """What the scan found and what of it the parse must look at."""

    targets: list[Target] = field(default_factory=list)
    images_of: dict[tuple[Path, str], list[Path]] = field(default_factory=dict)
    to_check: dict[str, Stat] = field(default_factory=dict)  # images new or changed


# A parsed post file: its record, the file, when it was observed, its target.
Parsed = tuple[dict[str, Any], Path, datetime, Target]
# An owner's followers as of a time, for post files that carry no count.
Followers = dict[tuple[str, datetime], "int | None"]


@dataclass
class Read:
    profiles: list[dict[str, Any]] = field(default_factory=list)
    mains: list[Parsed] = field(default_factory=list)
    refreshes: list[Parsed] = field(default_factory=list)


def _ingest(targets: list[Path], settings: Settings, report: IngestReport) -> None:
    stored = Stored.read(settings)
    # Scan every folder first: then the image checks can start before the metadata parse.
    found = _scan(targets, stored, report)
    with MediaChecker(list(found.to_check), settings.n_workers()) as checker:
        read = _read(found, stored, report)
        checks = checker.results()
    inspected = [
        {"path": path, **checks[path], "size_bytes": size, "mtime_ns": mtime}
        for path, (size, mtime) in found.to_check.items()
    ]
    with Merger(stored.tables) as merger:
        profiles, report.profiles_new = merger.profiles(read.profiles)
        media = merger.media(_media_candidates(read.mains, found), inspected)
        report.media_new, report.media_unreadable = media.changed, media.unreadable
        followers = _followers_asof(merger, read)
        observations, statics = _observations(read, found, media.info, followers, stored, report)
        new_obs = merger.observations(observations)
        report.observations_new = new_obs.num_rows
        posts = merger.posts(statics)
    report.posts_new, report.posts_updated = posts.new, posts.updated
    report.posts_unchanged = len(stored.post_codes) - posts.updated

    # All tables of this ingest as one generation (picme.lake.commit).
    writes = []
    if media.table is not None:
        writes.append(lake.prepared(settings, "media", media.table))
    if report.profiles_new:
        writes.append(lake.prepared(settings, "profiles", profiles))
    if new_obs.num_rows:
        writes.append(lake.prepared_part(settings, "post_observations", new_obs))
    if posts.table is not None:
        writes.append(lake.prepared(settings, "posts", posts.table))
    commit(settings, writes)
    log.debug("ingest: %s", report.summary().splitlines()[0])


def _scan(targets: list[Path], stored: Stored, report: IngestReport) -> Found:
    found = Found()
    for target_path in targets:
        # Resolved once here, so every path stored below is absolute without a syscall.
        tgt = scan_target(target_path.resolve())
        found.targets.append(tgt)
        bases = {b for b in (meta_base(m.name) for m in tgt.meta) if b is not None}
        by_base, orphans = map_images(tgt.images, bases)
        for orphan in orphans:
            report.skip(
                orphan,
                "image without metadata",
                f"no {orphan.stem}.json.xz beside it; not a downloaded post",
            )
        for base, items in by_base.items():
            found.images_of[(tgt.path, base)] = [img for _n, img in items]
            for _n, img in items:
                stat = tgt.stats.get(img)
                if stat is None or stored.media_stats.get(str(img)) == stat:
                    continue
                found.to_check[str(img)] = stat
    return found


def _read(found: Found, stored: Stored, report: IngestReport) -> Read:
    """Parse every file the lake does not hold unchanged."""
    context = offline_context()
    read = Read()
    files = sum(len(t.snapshots) + len(t.meta) + len(t.refresh) for t in found.targets)
    with progress.task("ingest: reading posts", total=files) as bar:
        for tgt in found.targets:
            _read_target(context, tgt, found, stored, read, report)
            bar.advance(len(tgt.snapshots) + len(tgt.meta) + len(tgt.refresh))
    return read


def _read_target(
    context: Any, tgt: Target, found: Found, stored: Stored, read: Read, report: IngestReport
) -> None:
    """Parse one target's snapshot, post and refresh files."""
    for snap in tgt.snapshots:
        try:
            read.profiles.extend(snapshot_rows(snap))
        except BadFile as exc:
            report.skip(snap, "bad profile snapshot", str(exc))
    for meta in tgt.meta:
        _read_meta(context, tgt, meta, found, stored, read, report)
    for rmeta, stamp in tgt.refresh:
        _read_refresh(context, tgt, rmeta, stamp, stored, read, report)


def _read_meta(
    context: Any,
    tgt: Target,
    meta: Path,
    found: Found,
    stored: Stored,
    read: Read,
    report: IngestReport,
) -> None:
    stat = tgt.stats.get(meta)
    images = found.images_of.get((tgt.path, meta_base(meta.name) or ""), [])
    # Skipped only while its post row exists and none of its images changed.
    if (
        stored.unchanged(meta, stat)
        and str(meta) in stored.post_files
        and not any(str(i) in found.to_check for i in images)
    ):
        report.files_unchanged += 1
        return
    if stat is not None and (str(meta), ns_to_utc(stat[1])) in stored.profile_files:
        report.files_unchanged += 1
        return
    report.files_read += 1
    try:
        structure = load_structure(context, meta)
        if isinstance(structure, Profile):
            row = profile_row(structure, meta)
            if row is not None:
                read.profiles.append(row)
            return
        if not isinstance(structure, Post):
            return  # resume iterators, stories, hashtags: not posts
        rec = post_record(structure, tgt.path)
    except BadFile as exc:
        report.skip(meta, "bad metadata", str(exc))
        return
    observed = ns_to_utc(stat[1]) if stat else mtime_utc(meta)
    read.mains.append((rec, meta, observed, tgt))


def _read_refresh(
    context: Any,
    tgt: Target,
    rmeta: Path,
    stamp: datetime | None,
    stored: Stored,
    read: Read,
    report: IngestReport,
) -> None:
    if stored.unchanged(rmeta, tgt.stats.get(rmeta)):
        report.files_unchanged += 1
        return
    report.files_read += 1
    if stamp is None:
        report.skip(
            rmeta,
            "bad refresh folder",
            f"folder name {rmeta.parent.name!r} is not a UTC time like 20260131T120000Z",
        )
        return
    try:
        structure = load_structure(context, rmeta)
        if not isinstance(structure, Post):
            raise BadFile("not a post")
        rec = post_record(structure, tgt.path)
    except BadFile as exc:
        report.skip(rmeta, "bad metadata", str(exc))
        return
    read.refreshes.append((rec, rmeta, stamp, tgt))


def _images(found: Found, tgt: Target, meta: Path) -> list[str]:
    return [str(img) for img in found.images_of.get((tgt.path, meta_base(meta.name) or ""), [])]


def _media_candidates(mains: list[Parsed], found: Found) -> list[dict[str, Any]]:
    """The images of every parsed post, with their owner and position."""
    return [
        {"path": path, "shortcode": rec["shortcode"], "idx": idx}
        for rec, meta, _observed, tgt in mains
        for idx, path in enumerate(_images(found, tgt, meta))
    ]


def _observations(
    read: Read,
    found: Found,
    media: dict[str, tuple[bool, str | None]],
    followers: Followers,
    stored: Stored,
    report: IngestReport,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(observations, post statics) of the posts with at least one readable image and of
    the refreshes of known posts; every post or image left out is reported."""
    observations: list[dict[str, Any]] = []
    statics: list[dict[str, Any]] = []
    for rec, meta, observed, tgt in read.mains:
        paths = _images(found, tgt, meta)
        readable = _readable(meta, paths, media, report)
        if not readable:
            continue
        observations.append(_observation(rec, meta, observed, tgt, followers))
        static = {k: v for k, v in rec.items() if k not in ("likes_raw", "likes_disabled")}
        static.update(
            image_path=readable[0],
            n_images=rec["n_images"] or len(paths),
            metadata_path=str(meta),
            seen_at=observed,
        )
        statics.append(static)
    known = stored.post_codes | {s["shortcode"] for s in statics}
    for rec, rmeta, stamp, tgt in read.refreshes:
        if rec["shortcode"] not in known:
            report.skip(
                rmeta,
                "refresh of an unknown post",
                "its main .json.xz and image are not ingested; ingest the profile folder",
            )
            continue
        observations.append(_observation(rec, rmeta, stamp, tgt, followers))
    return observations, statics


def _readable(
    meta: Path,
    paths: list[str],
    media: dict[str, tuple[bool, str | None]],
    report: IngestReport,
) -> list[str]:
    """The images of a post that decode; the others, or their absence, are reported."""
    if not paths:
        base = meta_base(meta.name)
        report.skip(
            meta,
            "metadata without image",
            f"no {base}.jpg or {base}_1.jpg beside it; re-download the post's pictures",
        )
        return []
    readable = [p for p in paths if media.get(p, (False, None))[0]]
    for p in paths:
        decodable, error = media.get(p, (False, None))
        if not decodable:
            fate = "post kept with its other images" if readable else "its post is skipped"
            report.skip(p, "unreadable image", f"{error or 'unreadable'}; {fate}")
    return readable


def _observation(
    rec: dict[str, Any], path: Path, observed: datetime, tgt: Target, followers: Followers
) -> dict[str, Any]:
    size, mtime_ns = tgt.stats.get(path, (None, None))
    count = rec["followers"]
    if count is None:
        count = followers.get((rec["owner_username"], observed))
    likes, hidden = classify_likes(rec["likes_raw"], count, rec["comments"], rec["likes_disabled"])
    return {
        "shortcode": rec["shortcode"],
        "owner_username": rec["owner_username"],
        "observed_at": observed,
        "likes": likes,
        "likes_raw": rec["likes_raw"],
        "likes_hidden": hidden,
        "comments": rec["comments"],
        "followers": count,
        "video_view_count": rec["video_view_count"],
        "source_path": str(path),
        "source_size": size,
        "source_mtime_ns": mtime_ns,
    }


def _followers_asof(merger: Merger, read: Read) -> Followers:
    """Followers as of each observation whose post file carries none, from the profile
    snapshots (a count is needed to tell hidden likes from a few real ones)."""
    wanted = list(
        dict.fromkeys(
            (rec["owner_username"], observed)
            for rec, _path, observed, _tgt in read.mains + read.refreshes
            if rec["followers"] is None
        )
    )
    return dict(zip(wanted, merger.followers_asof(wanted), strict=True))
