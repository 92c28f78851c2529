"""Instagram-shaped files as instaloader writes them: post metadata (``.json.xz``) with its
images, re-observations under ``refresh/``, the profile file and the profile snapshots.

Post nodes are complete GraphQL nodes, saved with instaloader's own
``save_structure_to_file`` so that ingest reads them exactly as it reads a real download.
File times are set as instaloader leaves them. Used by the sample generator and by the
ingest tests, which write the odd cases (older instaloader versions, missing images) here.
"""

from __future__ import annotations

import json
import lzma
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

FILENAME_FORMAT = "%Y-%m-%d_%H-%M-%S"  # instaloader's {date_utc}

_CONTEXT: Any = None


def _offline_context() -> Any:
    from instaloader import InstaloaderContext

    # Writing structures never needs the network; a plain context is just a carrier, and
    # one is enough (each builds a requests session).
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = InstaloaderContext(sleep=False, quiet=True, max_connection_attempts=1)
    return _CONTEXT


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def set_mtime(path: Path, t: datetime) -> None:
    """Set a file's access and modification times to ``t`` (the tree is reproducible to
    the file times)."""
    ts = t.timestamp()
    os.utime(path, (ts, ts))


def save_jpeg(rgb: np.ndarray, path: Path, mtime: datetime) -> None:
    """An RGB image as the JPEG instaloader would have downloaded, dated ``mtime``."""
    from PIL import Image

    Image.fromarray(rgb).save(path, format="JPEG", quality=88)
    set_mtime(path, mtime)


def make_post_node(
    *,
    shortcode: str,
    mediaid: int,
    owner_username: str,
    owner_id: int,
    followers: int | None,
    taken_at: datetime,
    likes: int,
    comments: int,
    caption: str | None = None,
    typename: str = "GraphImage",
    n_children: int = 1,
    tagged_users: list[str] | None = None,
    sponsor: str | None = None,
    location: str | None = None,
    accessibility_caption: str | None = None,
    width: int = 1080,
    height: int = 1080,
    video_view_count: int | None = None,
) -> dict[str, Any]:
    """A complete GraphQL post node as Instagram served it (every key Post reads offline)."""
    owner: dict[str, Any] = {"id": str(owner_id), "username": owner_username}
    if followers is not None:
        owner["edge_followed_by"] = {"count": int(followers)}
    is_video = typename == "GraphVideo"
    url = f"https://scontent.cdninstagram.com/v/{shortcode}.jpg"
    node: dict[str, Any] = {
        "__typename": typename,
        "id": str(mediaid),
        "shortcode": shortcode,
        "dimensions": {"height": height, "width": width},
        "display_url": url,
        "is_video": is_video,
        "title": None,
        "taken_at_timestamp": int(taken_at.timestamp()),
        "edge_media_to_caption": {"edges": [{"node": {"text": caption}}] if caption else []},
        "edge_media_preview_like": {"count": int(likes)},
        "edge_media_to_comment": {"count": int(comments)},
        "edge_media_to_parent_comment": {"count": int(comments), "edges": []},
        "edge_media_to_tagged_user": {
            "edges": [{"node": {"user": {"username": u}}} for u in (tagged_users or [])]
        },
        "edge_media_to_sponsor_user": {
            "edges": ([{"node": {"sponsor": {"id": "1", "username": sponsor}}}] if sponsor else [])
        },
        "accessibility_caption": accessibility_caption,
        "location": (
            {
                "id": str(zlib.crc32(location.encode("utf-8"))),
                "has_public_page": True,
                "name": location,
                "slug": location.lower().replace(", ", "-").replace(" ", "-"),
            }
            if location
            else None
        ),
        "owner": owner,
        "comments_disabled": False,
        "viewer_has_liked": False,
    }
    if is_video:
        node["video_url"] = f"https://scontent.cdninstagram.com/v/{shortcode}.mp4"
        node["video_view_count"] = int(video_view_count or likes * 8)
        node["video_duration"] = 14.5
    if typename == "GraphSidecar":
        node["edge_sidecar_to_children"] = {
            "edges": [
                {
                    "node": {
                        "__typename": "GraphImage",
                        "shortcode": f"{shortcode}{i}",
                        "is_video": False,
                        "display_url": f"https://scontent.cdninstagram.com/v/{shortcode}_{i}.jpg",
                        "accessibility_caption": accessibility_caption,
                    }
                }
                for i in range(1, n_children + 1)
            ]
        }
    return node


def save_post(node: dict[str, Any], filename: str | os.PathLike[str]) -> None:
    """Save a post node with instaloader's own writer (the current instaloader version)."""
    from instaloader import Post, save_structure_to_file

    save_structure_to_file(Post(_offline_context(), node), str(filename))


def save_post_legacy(
    node: dict[str, Any], filename: str | os.PathLike[str], version: str = "4.9"
) -> None:
    """Write a post file as an older instaloader (4.9) did: its version string, its keys.

    4.9 wrote ``taken_at_timestamp``/``edge_media_to_comment`` and none of the keys that
    later versions added (``edge_media_to_parent_comment``, ``dimensions``…).
    """
    legacy = {
        k: v
        for k, v in node.items()
        if k not in ("edge_media_to_parent_comment", "dimensions", "comments_disabled", "title")
    }
    data = {"node": legacy, "instaloader": {"version": version, "node_type": "Post"}}
    with lzma.open(filename, "wt", check=lzma.CHECK_NONE) as fp:
        json.dump(data, fp, separators=(",", ":"))


def write_post(
    target_dir: str | os.PathLike[str],
    node: dict[str, Any],
    *,
    observed_at: datetime,
    n_images: int | None = None,
    legacy: bool = False,
    seed: int = 0,
    size: tuple[int, int] = (64, 48),
    basename: str | None = None,
) -> Path:
    """Write one post as instaloader lays it out: ``<date>_UTC.json.xz`` with its mtime set to
    ``observed_at``, and ``<date>_UTC.jpg`` (or ``_1.jpg``, ``_2.jpg``… for a carousel).

    ``n_images`` defaults to what the node says (carousel children, else one); pass 0 to
    write metadata without an image. ``basename`` overrides the file name's stem (e.g. the
    ``<date>_UTC_<shortcode>`` pattern). Returns the metadata file's path. For tests and demos.
    """
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    taken = datetime.fromtimestamp(int(node["taken_at_timestamp"]), tz=UTC)
    base = basename or taken.strftime(FILENAME_FORMAT) + "_UTC"
    sidecar = node.get("__typename") == "GraphSidecar"
    if n_images is None:
        n_images = len(node["edge_sidecar_to_children"]["edges"]) if sidecar else 1
    rng = np.random.default_rng(seed)
    for i in range(n_images):
        rgb = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        name = f"{base}_{i + 1}.jpg" if sidecar else f"{base}.jpg"
        save_jpeg(rgb, target / name, taken)
    meta = target / f"{base}.json.xz"
    if legacy:
        save_post_legacy(node, meta)
    else:
        save_post(node, meta)
    set_mtime(meta, observed_at)
    return meta


def write_refresh(
    target_dir: str | os.PathLike[str], node: dict[str, Any], *, observed_at: datetime
) -> Path:
    """A re-observation of a post: ``refresh/<YYYYmmddTHHMMSSZ>/<post basename>.json.xz``."""
    taken = datetime.fromtimestamp(int(node["taken_at_timestamp"]), tz=UTC)
    folder = Path(target_dir) / "refresh" / _stamp(observed_at)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (taken.strftime(FILENAME_FORMAT) + "_UTC.json.xz")
    save_post(node, path)
    set_mtime(path, observed_at)
    return path


def save_profile(
    *,
    username: str,
    userid: int,
    followers: int,
    followees: int,
    filename: str | os.PathLike[str],
    full_name: str = "",
) -> None:
    """The ``<target>_<id>.json.xz`` profile file instaloader writes beside the posts."""
    from instaloader import Profile, save_structure_to_file

    node = {
        "id": str(userid),
        "username": username,
        "full_name": full_name,
        "biography": "",
        "edge_followed_by": {"count": int(followers)},
        "edge_follow": {"count": int(followees)},
        "is_private": False,
        "is_verified": False,
        "is_business_account": False,
        "external_url": None,
        "profile_pic_url_hd": f"https://scontent.cdninstagram.com/v/{username}.jpg",
    }
    save_structure_to_file(Profile(_offline_context(), node), str(filename))


def write_profile_snapshot(
    target_dir: Path,
    *,
    username: str,
    userid: int,
    followers: int,
    followees: int,
    mediacount: int,
    observed_at: datetime,
    is_private: bool = False,
) -> Path:
    """raw/<target>/profile_snapshots/<YYYYmmddTHHMMSSZ>.json, the contract's snapshot file."""
    folder = target_dir / "profile_snapshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_stamp(observed_at)}.json"
    payload = {
        "username": username,
        "userid": int(userid),
        "followers": int(followers),
        "followees": int(followees),
        "mediacount": int(mediacount),
        "is_private": bool(is_private),
        "observed_at": observed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    path.write_text(json.dumps(payload, sort_keys=True) + "\n", encoding="utf-8")
    set_mtime(path, observed_at)
    return path
