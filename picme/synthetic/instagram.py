"""Sample data: an instaloader tree with a planted, learnable image/engagement relation.

The tree is written with instaloader's own ``save_structure_to_file`` so that ingest reads it
exactly as it reads a real download. docs/data.md documents the generative model; in short a
latent quality ``q ~ N(0, 1)`` per post drives how the image looks (sharpness, exposure,
contrast, saturation, noise, a face-like subject) and, with account and time effects and
noise, how many likes it gets. Everything is deterministic per seed, file times included.
"""

from __future__ import annotations

import csv
import json
import lzma
import math
import os
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

# The last scrape of the sample; fixed so that output is reproducible byte for byte.
SCRAPE_TIME = datetime(2026, 6, 30, 18, 0, 0, tzinfo=UTC)
SPAN_DAYS = 180.0
BETA = 0.6  # log-likes per unit of latent quality
NOISE_SIGMA = 0.35  # per-post residual noise of log likes
HIDDEN_RATE = 0.04
CAROUSEL_RATE = 0.1
VIDEO_RATE = 0.08
REFRESH_DAYS = 7.0  # posts younger than this at the scrape get a later re-observation
TRUTH_FILE = "sample_truth.csv"
FILENAME_FORMAT = "%Y-%m-%d_%H-%M-%S"  # instaloader's {date_utc}

_THEMES: list[dict[str, Any]] = [
    {
        "name": "travel",
        "users": ["wander.lena", "nomad_tomas", "atlas.and.ash"],
        "tags": ["travel", "wanderlust", "roadtrip", "mountains", "sunset", "explore"],
        "places": ["Lisbon, Portugal", "Dolomites, Italy", "Kyoto, Japan", "Reykjavik"],
        "sky": ((90, 150, 220), (250, 200, 150)),
        "ground": ((60, 110, 70), (120, 100, 80)),
    },
    {
        "name": "food",
        "users": ["crumb.and.co", "spoonful_mia", "the.hungry.fox"],
        "tags": ["foodie", "brunch", "homemade", "bakery", "coffee", "yum"],
        "places": ["Paris, France", "Brooklyn, New York", "Melbourne, Australia"],
        "sky": ((230, 220, 200), (200, 160, 120)),
        "ground": ((150, 90, 60), (220, 200, 170)),
    },
    {
        "name": "city",
        "users": ["concrete.poems", "nightlines_jo", "urban.kai"],
        "tags": ["streetphotography", "citylife", "architecture", "urban", "neon"],
        "places": ["Berlin, Germany", "Tokyo, Japan", "Chicago, Illinois"],
        "sky": ((40, 50, 90), (160, 170, 190)),
        "ground": ((70, 70, 80), (110, 100, 90)),
    },
    {
        "name": "portrait",
        "users": ["faces.by.noor", "studio.elio", "golden.hour.ana"],
        "tags": ["portrait", "portraitphotography", "goldenhour", "model", "smile"],
        "places": ["Barcelona, Spain", "Austin, Texas", "Cape Town, South Africa"],
        "sky": ((200, 180, 160), (240, 220, 200)),
        "ground": ((120, 90, 80), (180, 150, 130)),
    },
]
_FRIENDS = ["maya.k", "jonas_b", "li.wei", "sam.draws", "ines.m", "oskar.photo", "priya_r"]
_OPENERS = [
    "What a day",
    "Still thinking about this",
    "New favourite spot",
    "Weekend mood",
    "Can't get enough of this",
    "Little moments",
    "Back at it",
    "Found this gem",
]
_EMOJI = ["", " ✨", " 🌿", " 📸", " 🔥", " ☀️", " 🙌"]


@dataclass
class SampleSummary:
    out_dir: Path
    accounts: list[str]
    n_posts: int
    n_images: int
    n_carousels: int
    n_videos: int
    n_hidden: int
    n_refresh: int
    truth: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        return (
            f"generated {self.n_posts} posts ({self.n_images} images, {self.n_carousels} "
            f"carousels, {self.n_videos} videos, {self.n_hidden} with hidden likes, "
            f"{self.n_refresh} re-observed) for {len(self.accounts)} accounts in {self.out_dir}"
        )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


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


def _set_mtime(path: Path, t: datetime) -> None:
    ts = t.timestamp()
    os.utime(path, (ts, ts))


# --------------------------------------------------------------------------- images


def _render_face(img: np.ndarray, cx: int, cy: int, a: int, rng: np.random.Generator) -> None:
    """A frontal, face-like subject: skin oval, darker eye sockets and brows, mouth, body."""
    import cv2

    tone = rng.uniform(0.55, 1.0)
    skin = tuple(int(c * tone + 30 * (1 - tone)) for c in (236, 188, 160))
    hair = tuple(int(c) for c in rng.integers(20, 90, 3))
    shirt = tuple(int(c) for c in rng.integers(30, 230, 3))
    b = int(a * 1.3)
    cv2.ellipse(img, (cx, cy + int(2.6 * a)), (int(1.9 * a), int(1.5 * a)), 0, 0, 360, shirt, -1)
    cv2.rectangle(img, (cx - a // 3, cy + b - a // 3), (cx + a // 3, cy + b + a // 2), skin, -1)
    cv2.ellipse(img, (cx, cy - a // 5), (int(a * 1.1), int(b * 1.02)), 0, 180, 360, hair, -1)
    cv2.ellipse(img, (cx, cy), (a, b), 0, 0, 360, skin, -1)
    eye_y = cy - int(0.2 * b)
    for side in (-1, 1):
        ex = cx + side * int(0.42 * a)
        cv2.ellipse(
            img, (ex, eye_y), (int(0.24 * a), int(0.13 * a)), 0, 0, 360, (245, 245, 245), -1
        )
        cv2.circle(img, (ex, eye_y), max(1, int(0.1 * a)), (35, 25, 20), -1)
        cv2.line(
            img,
            (ex - int(0.25 * a), eye_y - int(0.24 * a)),
            (ex + int(0.25 * a), eye_y - int(0.27 * a)),
            hair,
            max(1, a // 10),
        )
    nose = tuple(int(c * 0.8) for c in skin)
    cv2.line(img, (cx, eye_y + a // 8), (cx - a // 10, cy + int(0.25 * b)), nose, max(1, a // 14))
    cv2.ellipse(
        img, (cx, cy + int(0.5 * b)), (int(0.3 * a), int(0.12 * a)), 0, 0, 180, (150, 50, 60), -1
    )


def _render_image(
    width: int, height: int, q: float, theme: dict[str, Any], rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, float]]:
    """A scene whose look is driven by q (see docs/data.md); returns RGB uint8 and knobs."""
    import cv2

    h, w = height, width
    sky0, sky1 = (np.array(c, np.float32) for c in theme["sky"])
    gr0, gr1 = (np.array(c, np.float32) for c in theme["ground"])
    jitter = rng.uniform(-25, 25, 3).astype(np.float32)
    horizon = int(h * rng.uniform(0.4, 0.7))
    rows = np.arange(h, dtype=np.float32)[:, None]
    t_sky = rows[:horizon] / max(horizon, 1)
    t_ground = (rows[horizon:] - horizon) / max(h - horizon, 1)
    img = np.empty((h, w, 3), np.float32)
    img[:horizon] = (sky0 + (sky1 - sky0) * t_sky)[:, None, :] + jitter
    img[horizon:] = (gr0 + (gr1 - gr0) * t_ground)[:, None, :] + jitter
    canvas = np.clip(img, 0, 255).astype(np.uint8)

    # Objects and fine texture give blur something to destroy.
    for _ in range(int(rng.integers(4, 9))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(h // 5, h))
        sw, sh = int(rng.integers(w // 16, w // 4)), int(rng.integers(h // 16, h // 3))
        if rng.random() < 0.5:
            cv2.rectangle(canvas, (x0, y0), (x0 + sw, y0 + sh), color, -1)
        else:
            cv2.ellipse(canvas, (x0, y0), (sw // 2, sh // 2), 0, 0, 360, color, -1)
    for _ in range(int(rng.integers(6, 14))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(canvas, p0, p1, color, int(rng.integers(1, 3)))
    stripe_y = int(rng.integers(horizon, h)) if horizon < h - 4 else h - 4
    canvas[stripe_y : stripe_y + 4, ::4] = 255 - canvas[stripe_y : stripe_y + 4, ::4]

    # A face-like subject near a third of the frame, more likely and larger for good posts.
    has_subject = rng.random() < _sigmoid(0.3 + 1.6 * q)
    if has_subject:
        a = int(min(w, h) * (0.09 + 0.07 * _sigmoid(q + rng.normal(0, 0.5))))
        cx = int(w * rng.choice([0.33, 0.5, 0.67]) + rng.normal(0, w * 0.03))
        cy = int(h * rng.uniform(0.35, 0.5))
        _render_face(canvas, cx, cy, max(a, 6), rng)

    # Photographic quality knobs; each has its own noise so no single one reveals q.
    sigma = 3.2 * _sigmoid(-1.7 * q + rng.normal(0, 0.5))
    ev = (1.0 - _sigmoid(1.4 * q + rng.normal(0, 0.5))) * float(rng.choice([-1.0, 1.0]))
    contrast = 0.5 + 0.6 * _sigmoid(1.2 * q + rng.normal(0, 0.5))
    saturation = 0.3 + 1.0 * _sigmoid(1.2 * q + rng.normal(0, 0.5))
    noise = 0.5 + 2.5 * _sigmoid(-1.5 * q + rng.normal(0, 0.5))

    out: np.ndarray = canvas.astype(np.float32)
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=sigma)
    gray = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    out = cv2.addWeighted(out, saturation, gray, 1.0 - saturation, 0.0)
    # Contrast around the mean, then exposure, folded into one affine map.
    mean = float(np.mean(cv2.mean(out)[:3]))
    gain = 2.0**ev
    # Luminance noise only: one channel is a third of the cost and looks like sensor grain.
    grain = rng.standard_normal((h, w), dtype=np.float32) * np.float32(noise)
    out = cv2.addWeighted(
        out, contrast * gain, cv2.merge([grain, grain, grain]), 1.0, mean * (1 - contrast) * gain
    )
    rgb = np.clip(out, 0, 255).astype(np.uint8)
    knobs = {
        "blur_sigma": sigma,
        "exposure_ev": ev,
        "contrast": contrast,
        "saturation": saturation,
        "noise": noise,
        "has_subject": float(has_subject),
    }
    return rgb, knobs


def _save_jpeg(rgb: np.ndarray, path: Path, mtime: datetime) -> None:
    from PIL import Image

    Image.fromarray(rgb).save(path, format="JPEG", quality=88)
    _set_mtime(path, mtime)


# --------------------------------------------------------------------------- metadata


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
        _save_jpeg(rgb, target / name, taken)
    meta = target / f"{base}.json.xz"
    if legacy:
        save_post_legacy(node, meta)
    else:
        save_post(node, meta)
    _set_mtime(meta, observed_at)
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
    _set_mtime(path, observed_at)
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
    _set_mtime(path, observed_at)
    return path


# --------------------------------------------------------------------------- generator


def _caption(theme: dict[str, Any], rng: np.random.Generator, others: list[str]) -> str:
    tags = list(rng.choice(theme["tags"], size=int(rng.integers(1, 5)), replace=False))
    text = str(rng.choice(_OPENERS)) + str(rng.choice(_EMOJI))
    if rng.random() < 0.4:
        who = str(rng.choice(others + _FRIENDS))
        text += f" with @{who}"
    if rng.random() < 0.3:
        text += "\nShot on a rainy afternoon, edited on my phone."
    return text + "\n\n" + " ".join(f"#{t}" for t in tags)


def _post_times(n: int, utc_offset_h: int, rng: np.random.Generator) -> list[datetime]:
    """Posting times over SPAN_DAYS with a daily rhythm (local lunch and evening peaks)."""
    start = SCRAPE_TIME - timedelta(days=SPAN_DAYS)
    days = np.sort(rng.uniform(0.0, SPAN_DAYS - 0.5, n))
    seen: set[datetime] = set()
    out: list[datetime] = []
    for d in days:
        local_hour = rng.normal(12.5, 1.2) if rng.random() < 0.35 else rng.normal(19.5, 1.8)
        day0 = start.replace(hour=0, minute=0, second=0) + timedelta(days=int(d))
        t = day0 + timedelta(hours=float(local_hour) - utc_offset_h)
        t = t.replace(microsecond=0) + timedelta(seconds=int(rng.integers(0, 60)))
        # Two posts in one second would collide in instaloader's default file name.
        while t in seen:
            t += timedelta(seconds=1)
        t = min(t, SCRAPE_TIME - timedelta(hours=1))
        seen.add(t)
        out.append(t)
    return sorted(out)


def generate_sample(
    out_dir: str | os.PathLike[str],
    n_accounts: int = 6,
    posts_per_account: int = 40,
    seed: int = 0,
    image_size: int = 256,
) -> SampleSummary:
    """Write raw/<account>/ instaloader trees (see docs/data.md); deterministic per seed."""
    from picme.errors import InputError

    if n_accounts < 1 or posts_per_account < 1:
        raise InputError("generate: --accounts and --posts must be at least 1")
    if image_size < 32:
        raise InputError(f"generate: image size {image_size} is too small; use 32 or more")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    # Audience sizes log-spaced from 2k to 1M, shuffled so size is not tied to theme.
    sizes = np.exp(np.linspace(math.log(2_000), math.log(1_000_000), n_accounts))
    sizes = sizes * rng.uniform(0.85, 1.15, n_accounts)
    rng.shuffle(sizes)
    usernames: list[str] = []
    for i in range(n_accounts):
        theme = _THEMES[i % len(_THEMES)]
        base = theme["users"][(i // len(_THEMES)) % len(theme["users"])]
        suffix = "" if i < len(_THEMES) * len(theme["users"]) else f"{i}"
        usernames.append(f"{base}{suffix}")

    total = n_accounts * posts_per_account
    n_posts = n_images = n_carousels = n_videos = n_hidden = n_refresh = 0
    truth: list[dict[str, Any]] = []
    # Guarantee every special case at least once when there is room for it.
    forced = {"carousel": 1, "video": 2, "hidden": 3} if total >= 10 else {}

    for a, username in enumerate(usernames):
        theme = _THEMES[a % len(_THEMES)]
        userid = int(rng.integers(10**9, 6 * 10**10))
        followers0 = float(sizes[a])
        growth = float(rng.uniform(0.0, 0.04))  # per 30 days
        # Small accounts engage more; the smallest ones straddle a 35 % likes/followers line.
        base_rate = 0.25 * (followers0 / 2_000) ** -0.3
        account_effect = float(rng.normal(0, 0.15))
        utc_offset = int(rng.choice([-5, 0, 1, 2, 9]))
        followees = int(rng.integers(150, 1500))
        target = out / username
        target.mkdir(parents=True, exist_ok=True)
        times = _post_times(posts_per_account, utc_offset, rng)
        others = [u for u in usernames if u != username]

        def followers_at(t: datetime, f0: float = followers0, g: float = growth) -> int:
            months = (t - (SCRAPE_TIME - timedelta(days=SPAN_DAYS))).total_seconds() / (30 * 86400)
            return int(round(f0 * math.exp(g * months)))

        for p, taken in enumerate(times):
            gi = a * posts_per_account + p
            q = float(rng.normal())
            kind = "image"
            if gi == forced.get("carousel") or (
                gi not in forced.values() and rng.random() < CAROUSEL_RATE
            ):
                kind = "carousel"
            elif gi == forced.get("video") or (
                gi not in forced.values() and rng.random() < VIDEO_RATE
            ):
                kind = "video"
            hidden = gi == forced.get("hidden") or (
                gi not in forced.values() and rng.random() < HIDDEN_RATE
            )
            n_children = int(rng.integers(2, 5)) if kind == "carousel" else 1
            shape = rng.random()
            if shape < 0.7:
                w = h = image_size
            elif shape < 0.9:
                w, h = int(image_size * 0.8), image_size
            else:
                w, h = image_size, int(image_size * 0.8)

            f_post = followers_at(taken)
            local_hour = (taken.hour + utc_offset) % 24
            tod = 0.12 * math.exp(-(((local_hour - 19.5) / 2.5) ** 2))
            kind_effect = {"image": 0.0, "carousel": 0.15, "video": -0.2}[kind]
            log_final = (
                math.log(f_post * base_rate)
                + account_effect
                + BETA * q
                + tod
                + kind_effect
                + float(rng.normal(0, NOISE_SIGMA))
            )
            final_likes = max(1, int(round(math.exp(log_final))))
            age_days = (SCRAPE_TIME - taken).total_seconds() / 86400
            seen_likes = max(1, int(round(final_likes * (1 - math.exp(-age_days / 0.8)))))
            comments = int(rng.poisson(max(0.2, seen_likes * 0.02 * math.exp(rng.normal(0, 0.4)))))

            mediaid = int(rng.integers(2**60, 2**62))
            from instaloader import Post

            shortcode = Post.mediaid_to_shortcode(mediaid)
            base = taken.strftime(FILENAME_FORMAT) + "_UTC"
            tagged = [str(rng.choice(_FRIENDS))] if rng.random() < 0.2 else []
            sponsor = "brand.partner" if rng.random() < 0.03 else None
            location = str(rng.choice(theme["places"])) if rng.random() < 0.35 else None

            image_files: list[str] = []
            knobs_first: dict[str, float] = {}
            for c in range(n_children):
                q_img = q if c == 0 else q + float(rng.normal(0, 0.3))
                rgb, knobs = _render_image(w, h, q_img, theme, rng)
                name = f"{base}_{c + 1}.jpg" if kind == "carousel" else f"{base}.jpg"
                _save_jpeg(rgb, target / name, taken)
                image_files.append(name)
                if c == 0:
                    knobs_first = knobs
            n_images += len(image_files)
            alt = "May be an image of " + (
                "1 person, smiling and outdoors" if knobs_first["has_subject"] else "outdoors"
            )
            node = make_post_node(
                shortcode=shortcode,
                mediaid=mediaid,
                owner_username=username,
                owner_id=userid,
                followers=followers_at(SCRAPE_TIME),
                taken_at=taken,
                likes=-1 if hidden else seen_likes,
                comments=comments,
                caption=_caption(theme, rng, others),
                typename={"image": "GraphImage", "carousel": "GraphSidecar", "video": "GraphVideo"}[
                    kind
                ],
                n_children=n_children,
                tagged_users=tagged,
                sponsor=sponsor,
                location=location,
                accessibility_caption=alt,
                width=w,
                height=h,
                video_view_count=seen_likes * 9 if kind == "video" else None,
            )
            # The download happened at the scrape, a few seconds apart per post.
            observed = SCRAPE_TIME + timedelta(seconds=p)
            meta = target / f"{base}.json.xz"
            save_post(node, meta)
            _set_mtime(meta, observed)
            caption_txt = target / f"{base}.txt"
            caption_txt.write_text(node["edge_media_to_caption"]["edges"][0]["node"]["text"])
            _set_mtime(caption_txt, taken)

            refreshed_likes = None
            if age_days < REFRESH_DAYS and not hidden:
                later = SCRAPE_TIME + timedelta(days=2)
                age2 = age_days + 2
                refreshed_likes = max(1, int(round(final_likes * (1 - math.exp(-age2 / 0.8)))))
                node2 = dict(node)
                node2["edge_media_preview_like"] = {"count": refreshed_likes}
                node2["owner"] = dict(
                    node["owner"], edge_followed_by={"count": followers_at(later)}
                )
                write_refresh(target, node2, observed_at=later)
                n_refresh += 1

            n_posts += 1
            n_carousels += kind == "carousel"
            n_videos += kind == "video"
            n_hidden += hidden
            truth.append(
                {
                    "shortcode": shortcode,
                    "owner_username": username,
                    "taken_at": taken.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "q": round(q, 6),
                    "typename": node["__typename"],
                    "followers": f_post,
                    "likes_final": final_likes,
                    "likes_observed": -1 if hidden else seen_likes,
                    "likes_refreshed": refreshed_likes if refreshed_likes is not None else "",
                    "hidden": int(hidden),
                    "blur_sigma": round(knobs_first["blur_sigma"], 4),
                    "exposure_ev": round(knobs_first["exposure_ev"], 4),
                    "saturation": round(knobs_first["saturation"], 4),
                    "has_subject": int(knobs_first["has_subject"]),
                    "image_files": ";".join(image_files),
                }
            )

        # Monthly follower snapshots plus one at the scrape; the profile file as instaloader
        # writes it; the id file instaloader keeps per target.
        for k in range(int(SPAN_DAYS // 30) + 1):
            t = SCRAPE_TIME - timedelta(days=SPAN_DAYS - 30 * k)
            write_profile_snapshot(
                target,
                username=username,
                userid=userid,
                followers=followers_at(t),
                followees=followees,
                mediacount=sum(1 for x in times if x <= t),
                observed_at=t,
            )
        profile_file = target / f"{username}_{userid}.json.xz"
        save_profile(
            username=username,
            userid=userid,
            followers=followers_at(SCRAPE_TIME),
            followees=followees,
            filename=profile_file,
        )
        _set_mtime(profile_file, SCRAPE_TIME)
        (target / "id").write_text(str(userid))
        _set_mtime(target / "id", SCRAPE_TIME)

    with open(out / TRUTH_FILE, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(truth[0].keys()))
        writer.writeheader()
        writer.writerows(truth)
    _set_mtime(out / TRUTH_FILE, SCRAPE_TIME)

    return SampleSummary(
        out_dir=out,
        accounts=usernames,
        n_posts=n_posts,
        n_images=n_images,
        n_carousels=n_carousels,
        n_videos=n_videos,
        n_hidden=n_hidden,
        n_refresh=n_refresh,
        truth=truth,
    )
