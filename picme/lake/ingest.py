"""Read instaloader trees into the Parquet lake (picme.lake.tables).

Metadata is read with instaloader's own ``load_structure_from_file`` so files from old and new
instaloader versions are understood the way instaloader understands them; the context given
to it refuses every network request, so a file that lacks a field is reported, never fetched.

Ingest is idempotent and never loses what the lake holds: a post's latest observation wins in
``posts``, every observation is kept in ``post_observations``, each table is replaced by write
then rename, and bad files are listed with a one-line reason while the rest is ingested.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import lzma
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from picme.errors import InputError, PicmeError
from picme.lake import tables as lake

if TYPE_CHECKING:
    from picme.settings import Settings

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"})
# A post whose count is this small while its owner has at least TINY_FOLLOWERS_MIN followers
# (or more comments than likes) has hidden likes: Instagram then serves a token count.
TINY_LIKES_MAX = 3
TINY_FOLLOWERS_MIN = 1000
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_CAROUSEL_RE = re.compile(r"^(?P<base>.+)_(?P<idx>\d+)$")
_HASH_CHUNK = 1 << 20
_DYNAMIC = (
    "observed_at",
    "likes",
    "likes_raw",
    "likes_hidden",
    "comments",
    "followers",
    "video_view_count",
)

T = TypeVar("T")


class _Bad(Exception):
    """One input file cannot be used; the message is the reason shown to the user."""


@dataclass
class IngestReport:
    lake_dir: Path
    posts_new: int = 0
    posts_updated: int = 0
    posts_unchanged: int = 0
    observations_new: int = 0
    profiles_new: int = 0
    media_new: int = 0
    media_unreadable: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    targets: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    skipped_by_reason: Counter[str] = field(default_factory=Counter)

    def skip(self, path: Path | str, category: str, detail: str = "") -> None:
        reason = f"{category}: {detail}" if detail else category
        self.skipped.append((str(path), reason))
        self.skipped_by_reason[category] += 1

    def summary(self, max_lines: int = 20) -> str:
        lines = [
            f"ingested {self.targets} folder(s) into {self.lake_dir}: {self.files_read} "
            f"metadata files read, {self.files_unchanged} unchanged since the last ingest; "
            f"{self.posts_new} new posts, {self.posts_updated} updated, "
            f"{self.posts_unchanged} unchanged; {self.observations_new} new observations, "
            f"{self.profiles_new} new profile snapshots, {self.media_new} new images "
            f"({self.media_unreadable} unreadable)"
        ]
        if self.skipped:
            why = ", ".join(f"{n} {cat}" for cat, n in self.skipped_by_reason.most_common())
            lines.append(f"skipped {len(self.skipped)}: {why}")
            for path, reason in self.skipped[:max_lines]:
                lines.append(f"  {path}: {reason}")
            if len(self.skipped) > max_lines:
                lines.append(f"  … and {len(self.skipped) - max_lines} more")
        return "\n".join(lines)


# --------------------------------------------------------------------------- instaloader


def _offline_context() -> Any:
    """An InstaloaderContext whose every request raises, so reading a file never fetches."""
    from instaloader import InstaloaderContext
    from instaloader.exceptions import InstaloaderException

    class OfflineLookup(InstaloaderException):
        pass

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise OfflineLookup("field missing from the file (ingest never fetches)")

    class OfflineContext(InstaloaderContext):
        get_json = refuse
        graphql_query = refuse
        doc_id_graphql_query = refuse
        get_iphone_json = refuse
        get_raw = refuse
        head = refuse
        get_page_data = refuse

    return OfflineContext(sleep=False, quiet=True, max_connection_attempts=1, iphone_support=False)


def _safe(fn: Callable[[], T], default: T | None = None) -> T | None:
    from instaloader.exceptions import InstaloaderException

    try:
        return fn()
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, InstaloaderException):
        return default


def _load(context: Any, path: Path) -> Any:
    """instaloader's loader, with each way a file can be bad turned into a one-line reason."""
    from instaloader import load_structure_from_file
    from instaloader.exceptions import InstaloaderException, InvalidArgumentException

    try:
        return load_structure_from_file(context, str(path))
    except (lzma.LZMAError, EOFError) as exc:
        raise _Bad(f"corrupt or truncated .json.xz ({exc}); re-download this post") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _Bad(f"not valid JSON ({exc.__class__.__name__}); re-download this post") from None
    except InvalidArgumentException:
        raise _Bad("not an instaloader metadata file (no node/instaloader keys)") from None
    except InstaloaderException:
        raise _Bad(
            "instaloader 3 format without the post's metadata; re-download with instaloader 4"
        ) from None
    except OSError as exc:
        raise _Bad(f"cannot read ({exc.strerror or exc})") from None
    except (AssertionError, KeyError, TypeError, AttributeError) as exc:
        raise _Bad(f"unexpected metadata structure ({exc.__class__.__name__}: {exc})") from None


# --------------------------------------------------------------------------- small helpers


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns_to_utc(ns: int) -> datetime:
    # Integer arithmetic: the same file always maps to the same microsecond (a float
    # round trip could flip the last digit and make a second, spurious observation).
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _mtime_utc(path: Path) -> datetime:
    return _ns_to_utc(path.stat().st_mtime_ns)


def _parse_stamp(name: str) -> datetime | None:
    try:
        return datetime.strptime(name, _STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return _parse_stamp(value)


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _meta_base(path: Path) -> str | None:
    """The post basename of a metadata file, or None when the file is not post metadata."""
    return _meta_base_name(path.name)


def classify_likes(
    raw: int | None, followers: int | None, comments: int | None, disabled: bool = False
) -> tuple[int | None, bool]:
    """(likes or None, hidden). Hidden likes show as -1, or as a token count of a few likes."""
    if raw is None:
        return None, False
    if disabled or raw < 0:
        return None, True
    if raw <= TINY_LIKES_MAX and (
        (followers or 0) >= TINY_FOLLOWERS_MIN or (comments is not None and comments > raw)
    ):
        return None, True
    return raw, False


# --------------------------------------------------------------------------- scanning


@dataclass
class _Target:
    path: Path
    meta: list[Path] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    refresh: list[tuple[Path, datetime | None]] = field(default_factory=list)
    snapshots: list[Path] = field(default_factory=list)
    # (size, mtime_ns) of metadata and image files, from the directory scan's stat.
    stats: dict[Path, tuple[int, int]] = field(default_factory=dict)


def _meta_base_name(name: str) -> str | None:
    if name.endswith("_comments.json") or name.startswith("."):
        return None
    for suffix in (".json.xz", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def _scan(target: Path) -> _Target:
    t = _Target(target)
    with os.scandir(target) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        name = e.name
        if e.is_dir():
            p = Path(e.path)
            if name == "refresh":
                for stamp_dir in sorted(p.iterdir()):
                    if not stamp_dir.is_dir():
                        continue
                    stamp = _parse_stamp(stamp_dir.name)
                    with os.scandir(stamp_dir) as files:
                        for f in sorted(files, key=lambda x: x.name):
                            if _meta_base_name(f.name) is None or not f.is_file():
                                continue
                            fp = Path(f.path)
                            t.refresh.append((fp, stamp))
                            with contextlib.suppress(OSError):
                                st = f.stat()
                                t.stats[fp] = (st.st_size, st.st_mtime_ns)
            elif name == "profile_snapshots":
                t.snapshots.extend(sorted(p.glob("*.json")))
            continue
        if name == "profile_snapshots.jsonl":
            t.snapshots.append(Path(e.path))
            continue
        is_meta = _meta_base_name(name) is not None
        if not is_meta and (
            name.startswith(".") or os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS
        ):
            continue
        p = Path(e.path)
        (t.meta if is_meta else t.images).append(p)
        with contextlib.suppress(OSError):
            st = e.stat()
            t.stats[p] = (st.st_size, st.st_mtime_ns)
    return t


def _looks_like_tree(path: Path) -> bool:
    with os.scandir(path) as it:
        for e in it:
            if e.is_file() and _meta_base(Path(e.name)) is not None:
                return True
            if e.is_dir() and e.name in ("profile_snapshots", "refresh"):
                return True
            if e.name == "profile_snapshots.jsonl":
                return True
    return False


def _targets(raw_dirs: Sequence[Path], report: IngestReport) -> list[Path]:
    targets: list[Path] = []
    missing: list[str] = []
    for d in (Path(x) for x in raw_dirs):
        if not d.exists():
            missing.append(str(d))
            report.skip(d, "missing folder", "no such folder")
            continue
        if not d.is_dir():
            report.skip(d, "not a folder", "give the folder instaloader or picme scrape wrote")
            continue
        if _looks_like_tree(d):
            targets.append(d)
            continue
        subdirs = [s for s in sorted(d.iterdir()) if s.is_dir() and not s.name.startswith(".")]
        if not subdirs:
            report.skip(d, "not an instaloader tree", "no .json.xz post metadata inside")
        for s in subdirs:
            if _looks_like_tree(s):
                targets.append(s)
            else:
                report.skip(s, "not an instaloader tree", "no .json.xz post metadata inside")
    if missing and len(missing) == len(raw_dirs):
        raise InputError(
            f"{', '.join(missing)}: no such folder; run `picme scrape` or `picme generate` "
            "first, or pass the folder instaloader wrote"
        )
    return targets


# --------------------------------------------------------------------------- records


def _post_record(post: Any, target: Path) -> dict[str, Any]:
    node: dict[str, Any] = post._node if isinstance(getattr(post, "_node", None), dict) else {}
    shortcode = _safe(lambda: post.shortcode)
    if not shortcode:
        raise _Bad("metadata has no shortcode")
    date = _safe(lambda: post.date_utc)
    if date is None:
        raise _Bad("metadata has no post date (taken_at_timestamp/date)")
    owner = _safe(lambda: post.owner_username)
    if not owner:
        if target.name.startswith(("#", ":")) or not target.name:
            raise _Bad("metadata has no owner username; re-download it from the profile")
        owner = target.name.lower()
    owner_node = node.get("owner") if isinstance(node.get("owner"), dict) else {}
    followers = _as_int(((owner_node or {}).get("edge_followed_by") or {}).get("count"))
    typename = _safe(lambda: post.typename)
    if typename is None:
        typename = (
            "GraphSidecar"
            if "edge_sidecar_to_children" in node
            else ("GraphVideo" if node.get("is_video") else "GraphImage")
        )
    is_video = _safe(lambda: bool(post.is_video), typename == "GraphVideo")
    likes_raw = _as_int(_safe(lambda: post.likes))
    if likes_raw is None:
        likes_raw = _as_int((node.get("edge_liked_by") or {}).get("count"))
    loc = node.get("location")
    location = loc.get("name") if isinstance(loc, dict) else (loc if isinstance(loc, str) else None)
    return {
        "shortcode": str(shortcode),
        "owner_username": str(owner),
        "owner_id": _as_int(_safe(lambda: post.owner_id)),
        "taken_at": date.replace(tzinfo=UTC),
        "likes_raw": likes_raw,
        "likes_disabled": bool(node.get("like_and_view_count_disabled")),
        "comments": _as_int(_safe(lambda: post.comments)),
        "followers": followers,
        "caption": _safe(lambda: post.caption),
        "hashtags": list(_safe(lambda: post.caption_hashtags, []) or []),
        "mentions": list(_safe(lambda: post.caption_mentions, []) or []),
        "tagged_users": list(_safe(lambda: post.tagged_users, []) or []),
        "typename": str(typename),
        "is_video": bool(is_video),
        "is_sponsored": bool(_safe(lambda: post.is_sponsored, False)),
        "accessibility_caption": _safe(lambda: post.accessibility_caption),
        "location": location,
        "video_view_count": _as_int(_safe(lambda: post.video_view_count)) if is_video else None,
        "n_images": _as_int(_safe(lambda: post.mediacount)),
    }


def _snapshot_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of profile_snapshots/<stamp>.json (one object) or profile_snapshots.jsonl."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Bad(f"cannot read ({exc})") from None
    objs: list[Any] = []
    try:
        if path.suffix == ".jsonl":
            objs = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            objs = [json.loads(text)]
    except json.JSONDecodeError as exc:
        raise _Bad(f"not valid JSON ({exc.msg}, line {exc.lineno})") from None
    rows = []
    for obj in objs:
        if not isinstance(obj, dict):
            raise _Bad("profile snapshot is not a JSON object")
        username = obj.get("username")
        followers = _as_int(obj.get("followers"))
        observed = _parse_time(obj.get("observed_at")) or _parse_stamp(path.stem)
        for name, value in (("username", username), ("followers", followers)):
            if value is None:
                raise _Bad(f"profile snapshot lacks field '{name}'")
        if observed is None:
            raise _Bad("profile snapshot lacks a valid 'observed_at' (ISO time, UTC)")
        rows.append(
            {
                "username": str(username).lower(),
                "userid": _as_int(obj.get("userid")),
                "followers": followers,
                "followees": _as_int(obj.get("followees")),
                "mediacount": _as_int(obj.get("mediacount")),
                "is_private": obj.get("is_private")
                if isinstance(obj.get("is_private"), bool)
                else None,
                "observed_at": observed,
                "source_path": str(path),
            }
        )
    return rows


def _profile_row(profile: Any, path: Path) -> dict[str, Any] | None:
    username = _safe(lambda: profile.username)
    followers = _as_int(_safe(lambda: profile.followers))
    if not username or followers is None:
        return None
    return {
        "username": str(username).lower(),
        "userid": _as_int(_safe(lambda: profile.userid)),
        "followers": followers,
        "followees": _as_int(_safe(lambda: profile.followees)),
        "mediacount": None,
        "is_private": _safe(lambda: bool(profile.is_private)),
        "observed_at": _mtime_utc(path),
        "source_path": str(path),
    }


# --------------------------------------------------------------------------- media


def inspect_image(path: Path) -> dict[str, Any]:
    """sha256 (chunked), size as displayed, and whether the file decodes; never raises.

    The decode is a reduced-size one (PIL draft) that still reads the whole stream, so a
    truncated JPEG is caught at a fraction of a full decode's cost.
    """
    from PIL import Image, UnidentifiedImageError

    row: dict[str, Any] = {
        "sha256": None,
        "width": None,
        "height": None,
        "decodable": False,
        "error": None,
    }
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)
        row["sha256"] = digest.hexdigest()
    except OSError as exc:
        row["error"] = f"cannot read ({exc.strerror or exc})"
        return row
    if path.suffix.lower() in (".heic", ".heif"):
        with contextlib.suppress(ImportError):
            import pillow_heif

            pillow_heif.register_heif_opener()
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = _safe(lambda: im.getexif().get(0x0112))
            if orientation in (5, 6, 7, 8):
                w, h = h, w
            im.draft("RGB", (max(1, w // 8), max(1, h // 8)))
            im.load()
        row.update(width=int(w), height=int(h), decodable=True)
    except UnidentifiedImageError:
        row["error"] = "not an image file PIL can identify"
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        row["error"] = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return row


def _map_images(
    images: Iterable[Path], bases: set[str]
) -> tuple[dict[str, list[tuple[int, Path]]], list[Path]]:
    by_base: dict[str, list[tuple[int, Path]]] = defaultdict(list)
    orphans: list[Path] = []
    for img in images:
        stem = img.name[: -len(img.suffix)]
        if stem in bases:
            by_base[stem].append((0, img))
            continue
        m = _CAROUSEL_RE.match(stem)
        if m and m.group("base") in bases:
            by_base[m.group("base")].append((int(m.group("idx")), img))
        elif stem.endswith("_profile_pic"):
            continue  # instaloader's profile picture, not a post image
        else:
            orphans.append(img)
    for items in by_base.values():
        items.sort(key=lambda x: (x[0], x[1].name))
    return by_base, orphans


# --------------------------------------------------------------------------- merge


def _inspect_many(paths: list[str]) -> list[dict[str, Any]]:
    return [inspect_image(Path(p)) for p in paths]


class _MediaChecker:
    """Image checks, run beside the metadata parse.

    Many images go to worker processes (spawned: no fork of a process that holds Arrow's
    threads): threads would not do, since the parse thread's file opens then queue behind
    the checkers' Python work for the GIL. A few images are checked in this process, as
    starting workers would cost more than it saves.
    """

    MIN_FOR_PROCESSES = 256
    CHUNK = 64

    def __init__(self, paths: list[str], workers: int) -> None:
        self.paths = paths
        self.pool: Any = None
        self.futures: list[tuple[list[str], Future[list[dict[str, Any]]]]] = []
        if workers > 1 and len(paths) >= self.MIN_FOR_PROCESSES:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            n = min(workers, max(1, len(paths) // self.CHUNK))
            self.pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))
            for i in range(0, len(paths), self.CHUNK):
                chunk = paths[i : i + self.CHUNK]
                self.futures.append((chunk, self.pool.submit(_inspect_many, chunk)))

    def __enter__(self) -> _MediaChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def results(self) -> dict[str, dict[str, Any]]:
        if self.pool is None:
            return {p: inspect_image(Path(p)) for p in self.paths}
        out: dict[str, dict[str, Any]] = {}
        for chunk, fut in self.futures:
            out.update(zip(chunk, fut.result(), strict=True))
        return out


def _rows(table: pa.Table | None) -> list[dict[str, Any]]:
    return [] if table is None else table.to_pylist()


def _asof_followers(
    snapshots: dict[str, list[tuple[datetime, int]]], owner: str, when: datetime
) -> int | None:
    """The owner's latest follower count at or before ``when``, else the earliest after."""
    import bisect

    series = snapshots.get(owner.lower())
    if not series:
        return None
    i = bisect.bisect_right(series, (when, float("inf")))
    return series[i - 1][1] if i > 0 else series[0][1]


@contextlib.contextmanager
def _lake_lock(lake_dir: Path) -> Iterator[None]:
    """One ingest at a time per lake: a second concurrent run would drop the first's rows."""
    import fcntl

    lake_dir.mkdir(parents=True, exist_ok=True)
    with open(lake_dir / ".ingest.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PicmeError(
                f"{lake_dir}: another `picme ingest` is writing this lake; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ingest_raw(raw_dirs: Sequence[Path | str], settings: Settings | None = None) -> IngestReport:
    """Ingest instaloader trees (root folders of targets, or target folders) into the lake."""
    from picme.settings import get_settings

    settings = settings or get_settings()
    report = IngestReport(lake_dir=settings.lake_dir)
    targets = _targets([Path(d) for d in raw_dirs], report)
    report.targets = len(targets)
    with _lake_lock(settings.lake_dir):
        _ingest(targets, settings, report)
    return report


def _ingest(targets: list[Path], settings: Settings, report: IngestReport) -> None:
    context = _offline_context()
    from instaloader import Post, Profile

    profile_rows: list[dict[str, Any]] = []
    mains: list[tuple[dict[str, Any], Path, datetime, _Target]] = []
    refreshes: list[tuple[dict[str, Any], Path, datetime, _Target]] = []
    images_of: dict[tuple[Path, str], list[Path]] = {}

    media_by_path = {r["path"]: r for r in _rows(lake.read_table(settings, "media"))}
    existing_posts = {r["shortcode"]: r for r in _rows(lake.read_table(settings, "posts"))}
    known_meta = {r["metadata_path"] for r in existing_posts.values() if r["metadata_path"]}
    obs_keys: set[tuple[str, datetime]] = set()
    known_files: dict[str, tuple[int, int]] = {}
    latest_obs: dict[str, dict[str, Any]] = {}
    for r in _rows(lake.read_table(settings, "post_observations")):
        obs_keys.add((r["shortcode"], r["observed_at"]))
        if r["source_size"] is not None and r["source_mtime_ns"] is not None:
            known_files[r["source_path"]] = (r["source_size"], r["source_mtime_ns"])
        prev_obs = latest_obs.get(r["shortcode"])
        if prev_obs is None or r["observed_at"] > prev_obs["observed_at"]:
            latest_obs[r["shortcode"]] = r

    prof_all = _rows(lake.read_table(settings, "profiles"))
    # instaloader's <target>_<id>.json.xz profile files, by the mtime they were read at.
    known_profiles = {r["source_path"]: r["observed_at"] for r in prof_all if r["source_path"]}

    def unchanged(path: Path, stat: tuple[int, int] | None) -> bool:
        """Read before, not modified since, and its observation is stored."""
        return stat is not None and known_files.get(str(path)) == stat

    # Scan every folder first: then the image checks can start before the metadata parse.
    scanned: list[_Target] = []
    to_check: dict[str, tuple[Path, tuple[int, int]]] = {}
    for target_path in targets:
        # Resolved once here, so every path stored below is absolute without a syscall.
        tgt = _scan(target_path.resolve())
        scanned.append(tgt)
        all_bases = {b for b in (_meta_base(m) for m in tgt.meta) if b is not None}
        by_base, orphans = _map_images(tgt.images, all_bases)
        for orphan in orphans:
            report.skip(
                orphan,
                "image without metadata",
                f"no {orphan.stem}.json.xz beside it; not a downloaded post",
            )
        for img_base, items in by_base.items():
            images_of[(tgt.path, img_base)] = [img for _n, img in items]
            for _n, img in items:
                stat = tgt.stats.get(img)
                old = media_by_path.get(str(img))
                if stat is None or (
                    old is not None and (old.get("size_bytes"), old.get("mtime_ns")) == stat
                ):
                    continue
                to_check[str(img)] = (img, stat)

    with _MediaChecker(list(to_check), settings.n_workers()) as checker:
        for tgt in scanned:
            for snap in tgt.snapshots:
                try:
                    profile_rows.extend(_snapshot_rows(snap))
                except _Bad as exc:
                    report.skip(snap, "bad profile snapshot", str(exc))
            for meta in tgt.meta:
                stat = tgt.stats.get(meta)
                mbase = _meta_base(meta)
                # Skipped only while its post row exists and none of its images changed.
                if (
                    unchanged(meta, stat)
                    and str(meta) in known_meta
                    and not any(
                        str(i) in to_check for i in images_of.get((tgt.path, mbase or ""), [])
                    )
                ):
                    report.files_unchanged += 1
                    continue
                if stat is not None and known_profiles.get(str(meta)) == _ns_to_utc(stat[1]):
                    report.files_unchanged += 1
                    continue
                report.files_read += 1
                try:
                    structure = _load(context, meta)
                except _Bad as exc:
                    report.skip(meta, "bad metadata", str(exc))
                    continue
                if isinstance(structure, Profile):
                    row = _profile_row(structure, meta)
                    if row is not None:
                        profile_rows.append(row)
                    continue
                if not isinstance(structure, Post):
                    continue  # resume iterators, stories, hashtags: not posts
                try:
                    rec = _post_record(structure, tgt.path)
                except _Bad as exc:
                    report.skip(meta, "bad metadata", str(exc))
                    continue
                observed = _ns_to_utc(stat[1]) if stat else _mtime_utc(meta)
                mains.append((rec, meta, observed, tgt))
            for rmeta, stamp in tgt.refresh:
                if unchanged(rmeta, tgt.stats.get(rmeta)):
                    report.files_unchanged += 1
                    continue
                report.files_read += 1
                if stamp is None:
                    report.skip(
                        rmeta,
                        "bad refresh folder",
                        f"folder name {rmeta.parent.name!r} is not a UTC time like "
                        "20260131T120000Z",
                    )
                    continue
                try:
                    structure = _load(context, rmeta)
                    if not isinstance(structure, Post):
                        raise _Bad("not a post")
                    rec = _post_record(structure, tgt.path)
                except _Bad as exc:
                    report.skip(rmeta, "bad metadata", str(exc))
                    continue
                refreshes.append((rec, rmeta, stamp, tgt))
        results = checker.results()
    inspected = {path: (results[path], stat) for path, (_img, stat) in to_check.items()}

    # --- profiles (needed to fill followers where a post file lacks them)
    prof_keys = {(r["username"], r["observed_at"]) for r in prof_all}
    new_profiles = []
    for r in profile_rows:
        key = (r["username"], r["observed_at"])
        if key not in prof_keys:
            prof_keys.add(key)
            new_profiles.append(r)
    prof_all.extend(new_profiles)
    report.profiles_new = len(new_profiles)
    snapshots: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for r in prof_all:
        if r["followers"] is not None and r["observed_at"] is not None:
            snapshots[r["username"]].append((r["observed_at"], int(r["followers"])))
    for series in snapshots.values():
        series.sort()

    # --- media rows of ingested posts: new files, changed files, or a changed owner/position
    media_changed: list[dict[str, Any]] = []
    post_images: dict[tuple[Path, str], list[str]] = {}
    for rec, meta, _obs, tgt in mains:
        base = _meta_base(meta)
        assert base is not None
        paths = [str(img) for img in images_of.get((tgt.path, base), [])]
        post_images[(tgt.path, base)] = paths
        for idx, path in enumerate(paths):
            if path in inspected:
                info, (size, mtime_ns) = inspected[path]
                row = {"path": path, **info, "size_bytes": size, "mtime_ns": mtime_ns}
            elif path in media_by_path:
                row = dict(media_by_path[path])
            else:
                continue  # vanished between the scan and now
            row.update(shortcode=rec["shortcode"], idx=idx)
            if media_by_path.get(path) != row:
                media_by_path[path] = row
                media_changed.append(row)
    report.media_new = len(media_changed)
    report.media_unreadable = sum(1 for r in media_changed if not r["decodable"])

    # --- observations and posts
    def observation(
        rec: dict[str, Any], path: Path, observed: datetime, tgt: _Target
    ) -> dict[str, Any]:
        size, mtime_ns = tgt.stats.get(path, (None, None))
        followers = rec["followers"]
        if followers is None:
            followers = _asof_followers(snapshots, rec["owner_username"], observed)
        likes, hidden = classify_likes(
            rec["likes_raw"], followers, rec["comments"], rec["likes_disabled"]
        )
        return {
            "shortcode": rec["shortcode"],
            "owner_username": rec["owner_username"],
            "observed_at": observed,
            "likes": likes,
            "likes_raw": rec["likes_raw"],
            "likes_hidden": hidden,
            "comments": rec["comments"],
            "followers": followers,
            "video_view_count": rec["video_view_count"],
            "source_path": str(path),
            "source_size": size,
            "source_mtime_ns": mtime_ns,
        }

    statics: dict[str, dict[str, Any]] = {}
    observations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec, meta, observed, tgt in mains:
        base = _meta_base(meta)
        assert base is not None
        paths = post_images[(tgt.path, base)]
        if not paths:
            report.skip(
                meta,
                "metadata without image",
                f"no {base}.jpg or {base}_1.jpg beside it; re-download the post's pictures",
            )
            continue
        readable = [p for p in paths if media_by_path.get(p, {}).get("decodable")]
        for p in paths:
            info = media_by_path.get(p, {})
            if not info.get("decodable"):
                fate = "post kept with its other images" if readable else "its post is skipped"
                report.skip(p, "unreadable image", f"{info.get('error') or 'unreadable'}; {fate}")
        if not readable:
            continue
        obs = observation(rec, meta, observed, tgt)
        observations[rec["shortcode"]].append(obs)
        static = {k: v for k, v in rec.items() if k not in ("likes_raw", "likes_disabled")}
        static.update(
            image_path=readable[0],
            n_images=rec["n_images"] or len(paths),
            metadata_path=str(meta),
        )
        prev = statics.get(rec["shortcode"])
        # The same post downloaded into two targets: the latest download describes it.
        if prev is None or observed > prev["_observed"]:
            statics[rec["shortcode"]] = {**static, "_observed": observed}
    for rec, rmeta, stamp, tgt in refreshes:
        sc = rec["shortcode"]
        if sc not in statics and sc not in existing_posts:
            report.skip(
                rmeta,
                "refresh of an unknown post",
                "its main .json.xz and image are not ingested; ingest the profile folder",
            )
            continue
        observations[sc].append(observation(rec, rmeta, stamp, tgt))

    new_obs: list[dict[str, Any]] = []
    for sc, obs_list in observations.items():
        for o in obs_list:
            key = (sc, o["observed_at"])
            if key not in obs_keys:
                obs_keys.add(key)
                new_obs.append(o)
    report.observations_new = len(new_obs)

    columns = lake.POSTS_SCHEMA.names  # a list, once: iterating a Schema builds Field objects
    posts_out = dict(existing_posts)
    for sc in set(existing_posts) | set(statics) | set(observations):
        old = existing_posts.get(sc)
        stored = latest_obs.get(sc)
        touched = sc in statics or sc in observations
        # Only a run that died after writing observations leaves a newer one behind.
        behind = (
            old is not None and stored is not None and stored["observed_at"] > old["observed_at"]
        )
        if not (touched or behind):
            continue
        if sc in statics:
            base_row = {k: v for k, v in statics[sc].items() if k != "_observed"}
        elif old is not None:
            base_row = dict(old)
        else:
            continue
        candidates = list(observations.get(sc, []))
        if stored is not None:
            candidates.append(stored)
        if old is not None and old.get("observed_at") is not None:
            candidates.append({k: old.get(k) for k in _DYNAMIC})
        latest = max(candidates, key=lambda o: o["observed_at"])
        # Ties keep the stored row, so re-ingesting an unchanged tree changes nothing.
        if old is not None and old.get("observed_at") == latest["observed_at"]:
            latest = {k: old.get(k) for k in _DYNAMIC}
        row = {**base_row, **{k: latest[k] for k in _DYNAMIC}}
        row = {c: row.get(c) for c in columns}
        if old is None:
            report.posts_new += 1
        elif row != {c: old.get(c) for c in columns}:
            report.posts_updated += 1
        else:
            continue
        posts_out[sc] = row
    report.posts_unchanged = len(existing_posts) - report.posts_updated

    # --- write: each table atomically; posts last, and each step is idempotent on rerun.
    if media_changed:
        rows = sorted(media_by_path.values(), key=lambda r: r["path"])
        lake.write_table(settings, "media", pa.Table.from_pylist(rows, schema=lake.MEDIA_SCHEMA))
    if new_profiles:
        rows = sorted(prof_all, key=lambda r: (r["username"], r["observed_at"]))
        lake.write_table(
            settings, "profiles", pa.Table.from_pylist(rows, schema=lake.PROFILES_SCHEMA)
        )
    if new_obs:
        new_obs.sort(key=lambda r: (r["shortcode"], r["observed_at"]))
        lake.append_part(
            settings,
            "post_observations",
            pa.Table.from_pylist(new_obs, schema=lake.OBSERVATIONS_SCHEMA),
        )
    if report.posts_new or report.posts_updated:
        rows = sorted(
            posts_out.values(), key=lambda r: (r["owner_username"], r["taken_at"], r["shortcode"])
        )
        lake.write_table(settings, "posts", pa.Table.from_pylist(rows, schema=lake.POSTS_SCHEMA))
    log.debug("ingest: %s", report.summary().splitlines()[0])
