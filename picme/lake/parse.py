"""Parsing raw files into lake rows, offline.

Metadata is read with instaloader's own ``load_structure_from_file``, so files from old and
new instaloader versions are understood the way instaloader understands them; the context
given to it refuses every network request, so a file that lacks a field is reported, never
fetched. Every way a file can be bad becomes :class:`BadFile` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import json
import lzma
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from instaloader import InstaloaderContext, load_structure_from_file
from instaloader.exceptions import InstaloaderException, InvalidArgumentException

from picme.util.timefmt import parse_stamp

T = TypeVar("T")

# A post whose count is this small while its owner has at least TINY_FOLLOWERS_MIN followers
# (or more comments than likes) has hidden likes: Instagram then serves a token count.
TINY_LIKES_MAX = 3
TINY_FOLLOWERS_MIN = 1000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadFile(Exception):
    """One input file cannot be used; the message is the reason shown to the user."""


def offline_context() -> Any:
    """An InstaloaderContext whose every request raises, so reading a file never fetches."""

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


def load_structure(context: Any, path: Path) -> Any:
    """instaloader's loader, with each way a file can be bad turned into a one-line reason."""
    try:
        return load_structure_from_file(context, str(path))
    except (lzma.LZMAError, EOFError) as exc:
        raise BadFile(f"corrupt or truncated .json.xz ({exc}); re-download this post") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadFile(f"not valid JSON ({exc.__class__.__name__}); re-download this post") from None
    except InvalidArgumentException:
        raise BadFile("not an instaloader metadata file (no node/instaloader keys)") from None
    except InstaloaderException:
        raise BadFile(
            "instaloader 3 format without the post's metadata; re-download with instaloader 4"
        ) from None
    except OSError as exc:
        raise BadFile(f"cannot read ({exc.strerror or exc})") from None
    except (AssertionError, KeyError, TypeError, AttributeError) as exc:
        missing = missing_field(path)
        if missing is not None:
            raise BadFile(f"metadata field {missing!r} is missing; re-download this post") from None
        raise BadFile(f"unexpected metadata structure ({exc.__class__.__name__}: {exc})") from None


#: Fields of a post's node that instaloader cannot do without (it asserts or indexes them).
REQUIRED_NODE_FIELDS = ("shortcode", "id", "taken_at_timestamp", "owner", "__typename")


def missing_field(path: Path) -> str | None:
    """The first required field absent from the metadata file's node, if that is what is
    wrong with it (instaloader's own error names no field: ``AssertionError: ``)."""
    try:
        with lzma.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, lzma.LZMAError, EOFError, ValueError):
        return None
    node = data.get("node") if isinstance(data, dict) else None
    if not isinstance(node, dict):
        return "node"
    if "username" in node and "edge_owner_to_timeline_media" in node:
        return None  # a profile, not a post
    return next((f for f in REQUIRED_NODE_FIELDS if f not in node), None)


def safe(fn: Callable[[], T], default: T | None = None) -> T | None:
    """``fn()``, or ``default`` when the structure lacks what it reads."""
    try:
        return fn()
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, InstaloaderException):
        return default


def ns_to_utc(ns: int) -> datetime:
    # Integer arithmetic: the same file always maps to the same microsecond (a float
    # round trip could flip the last digit and make a second, spurious observation).
    return _EPOCH + timedelta(microseconds=ns // 1000)


def mtime_utc(path: Path) -> datetime:
    return ns_to_utc(path.stat().st_mtime_ns)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return parse_stamp(value)


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


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


def post_record(post: Any, target: Path) -> dict[str, Any]:
    """A post's fields as ingest keeps them (static columns and one observation)."""
    node: dict[str, Any] = post._node if isinstance(getattr(post, "_node", None), dict) else {}
    shortcode = safe(lambda: post.shortcode)
    if not shortcode:
        raise BadFile("metadata has no shortcode")
    date = safe(lambda: post.date_utc)
    if date is None:
        raise BadFile("metadata has no post date (taken_at_timestamp/date)")
    owner = safe(lambda: post.owner_username)
    if not owner:
        if target.name.startswith(("#", ":")) or not target.name:
            raise BadFile("metadata has no owner username; re-download it from the profile")
        owner = target.name.lower()
    owner_node = node.get("owner") if isinstance(node.get("owner"), dict) else {}
    followers = as_int(((owner_node or {}).get("edge_followed_by") or {}).get("count"))
    typename = safe(lambda: post.typename)
    if typename is None:
        typename = (
            "GraphSidecar"
            if "edge_sidecar_to_children" in node
            else ("GraphVideo" if node.get("is_video") else "GraphImage")
        )
    is_video = safe(lambda: bool(post.is_video), typename == "GraphVideo")
    likes_raw = as_int(safe(lambda: post.likes))
    if likes_raw is None:
        likes_raw = as_int((node.get("edge_liked_by") or {}).get("count"))
    loc = node.get("location")
    location = loc.get("name") if isinstance(loc, dict) else (loc if isinstance(loc, str) else None)
    return {
        "shortcode": str(shortcode),
        "owner_username": str(owner),
        "owner_id": as_int(safe(lambda: post.owner_id)),
        "taken_at": date.replace(tzinfo=UTC),
        "likes_raw": likes_raw,
        "likes_disabled": bool(node.get("like_and_view_count_disabled")),
        "comments": as_int(safe(lambda: post.comments)),
        "followers": followers,
        "caption": safe(lambda: post.caption),
        "hashtags": list(safe(lambda: post.caption_hashtags, []) or []),
        "mentions": list(safe(lambda: post.caption_mentions, []) or []),
        "tagged_users": list(safe(lambda: post.tagged_users, []) or []),
        "typename": str(typename),
        "is_video": bool(is_video),
        "is_sponsored": bool(safe(lambda: post.is_sponsored, False)),
        "accessibility_caption": safe(lambda: post.accessibility_caption),
        "location": location,
        "video_view_count": as_int(safe(lambda: post.video_view_count)) if is_video else None,
        "n_images": as_int(safe(lambda: post.mediacount)),
    }


def snapshot_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of profile_snapshots/<stamp>.json (one object) or profile_snapshots.jsonl."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadFile(f"cannot read ({exc})") from None
    objs: list[Any] = []
    try:
        if path.suffix == ".jsonl":
            objs = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            objs = [json.loads(text)]
    except json.JSONDecodeError as exc:
        raise BadFile(f"not valid JSON ({exc.msg}, line {exc.lineno})") from None
    rows = []
    for obj in objs:
        if not isinstance(obj, dict):
            raise BadFile("profile snapshot is not a JSON object")
        username = obj.get("username")
        followers = as_int(obj.get("followers"))
        observed = _parse_time(obj.get("observed_at")) or parse_stamp(path.stem)
        for name, value in (("username", username), ("followers", followers)):
            if value is None:
                raise BadFile(f"profile snapshot lacks field '{name}'")
        if observed is None:
            raise BadFile("profile snapshot lacks a valid 'observed_at' (ISO time, UTC)")
        rows.append(
            {
                "username": str(username).lower(),
                "userid": as_int(obj.get("userid")),
                "followers": followers,
                "followees": as_int(obj.get("followees")),
                "mediacount": as_int(obj.get("mediacount")),
                "is_private": obj.get("is_private")
                if isinstance(obj.get("is_private"), bool)
                else None,
                "observed_at": observed,
                "source_path": str(path),
            }
        )
    return rows


def profile_row(profile: Any, path: Path) -> dict[str, Any] | None:
    username = safe(lambda: profile.username)
    followers = as_int(safe(lambda: profile.followers))
    if not username or followers is None:
        return None
    return {
        "username": str(username).lower(),
        "userid": as_int(safe(lambda: profile.userid)),
        "followers": followers,
        "followees": as_int(safe(lambda: profile.followees)),
        "mediacount": None,
        "is_private": safe(lambda: bool(profile.is_private)),
        "observed_at": mtime_utc(path),
        "source_path": str(path),
    }
