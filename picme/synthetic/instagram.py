"""Sample data: an instaloader tree with a planted, learnable image/engagement relation.

The tree is written with instaloader's own ``save_structure_to_file``
(:mod:`picme.synthetic.posts`) so that ingest reads it exactly as it reads a real download.
docs/data.md documents the generative model; in short a latent quality ``q ~ N(0, 1)`` per
post drives how the image looks (:mod:`picme.synthetic.sample_images`: sharpness, exposure,
contrast, saturation, noise, a face-like subject) and, with account
(:mod:`picme.synthetic.sample_accounts`) and time effects and noise, how many likes it gets.
Everything is deterministic per seed, file times included: every draw comes from one
generator in a fixed order, which is why the helpers take it and run in sequence.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from picme.errors import InputError
from picme.synthetic.config import GenerateConfig
from picme.synthetic.posts import (
    FILENAME_FORMAT,
    make_post_node,
    save_jpeg,
    save_post,
    save_profile,
    set_mtime,
    write_profile_snapshot,
    write_refresh,
)
from picme.synthetic.sample_accounts import (
    FRIENDS,
    SCRAPE_TIME,
    SPAN_DAYS,
    Account,
    caption,
    draw_account,
    usernames,
)
from picme.synthetic.sample_images import render_image

BETA = 0.6  # log-likes per unit of latent quality
NOISE_SIGMA = 0.35  # per-post residual noise of log likes
HOUR_LIFT = 0.8  # log-likes of the planted best hour, when one is asked for
HIDDEN_RATE = 0.04
CAROUSEL_RATE = 0.1
VIDEO_RATE = 0.08
REFRESH_DAYS = 7.0  # posts younger than this at the scrape get a later re-observation
TRUTH_FILE = "sample_truth.csv"
_TYPENAMES = {"image": "GraphImage", "carousel": "GraphSidecar", "video": "GraphVideo"}


@dataclass
class SampleSummary:
    out_dir: Path
    accounts: list[str]
    n_posts: int = 0
    n_images: int = 0
    n_carousels: int = 0
    n_videos: int = 0
    n_hidden: int = 0
    n_refresh: int = 0
    truth: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        return (
            f"generated {self.n_posts} posts ({self.n_images} images, {self.n_carousels} "
            f"carousels, {self.n_videos} videos, {self.n_hidden} with hidden likes, "
            f"{self.n_refresh} re-observed) for {len(self.accounts)} accounts in {self.out_dir}"
        )


@dataclass(frozen=True)
class _Post:
    """The drawn facts of one post, before its files are written."""

    taken: datetime
    q: float
    kind: str  # image, carousel or video
    hidden: bool
    n_children: int
    width: int
    height: int
    followers: int
    final_likes: int
    seen_likes: int
    age_days: float
    comments: int
    mediaid: int
    shortcode: str
    tagged: list[str]
    sponsor: str | None
    location: str | None

    @property
    def base(self) -> str:
        """The file name stem instaloader gives the post."""
        return self.taken.strftime(FILENAME_FORMAT) + "_UTC"


def generate_sample(
    out_dir: str | os.PathLike[str],
    n_accounts: int = 6,
    posts_per_account: int = 40,
    seed: int = 0,
    image_size: int = 256,
    signal: float = BETA,
    best_hour: int | None = None,
    hour_lift: float = HOUR_LIFT,
) -> SampleSummary:
    """Write raw/<account>/ instaloader trees (see docs/data.md); deterministic per seed.

    ``signal``: log likes per unit of the latent image quality (0 plants no image signal
    at all: the images still vary, the likes do not follow them). ``best_hour``: a UTC
    hour whose posts get ``hour_lift`` more log likes, every account alike; posting times
    are then spread over the whole day, so every hour has posts (None, the default, plants
    no such hour and leaves the sample exactly as before)."""
    if best_hour is not None and not 0 <= best_hour <= 23:
        raise InputError(f"generate: --best-hour takes a UTC hour 0-23 (got {best_hour})")
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
    names = usernames(n_accounts)
    summary = SampleSummary(out_dir=out, accounts=names)
    # Guarantee every special case at least once when there is room for it.
    forced = (
        {"carousel": 1, "video": 2, "hidden": 3} if n_accounts * posts_per_account >= 10 else {}
    )

    for a, username in enumerate(names):
        account = draw_account(
            a, username, names, float(sizes[a]), posts_per_account, out, rng,
            all_day=best_hour is not None,
        )  # fmt: skip
        for p, taken in enumerate(account.times):
            gi = a * posts_per_account + p
            lift = hour_lift if taken.hour == best_hour else 0.0
            post = _draw_post(account, gi, taken, forced, image_size, rng, signal, lift)
            _write_post(account, post, p, rng, summary)
        _write_account_files(account)

    with open(out / TRUTH_FILE, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(summary.truth[0].keys()))
        writer.writeheader()
        writer.writerows(summary.truth)
    set_mtime(out / TRUTH_FILE, SCRAPE_TIME)
    return summary


def generate_from_config(config: GenerateConfig, raw_dir: Path) -> SampleSummary:
    """``picme generate``: the sample ``config`` describes, under ``config.out`` or else
    ``raw_dir``."""
    return generate_sample(
        config.out or raw_dir,
        n_accounts=config.accounts,
        posts_per_account=config.posts,
        seed=config.seed,
        image_size=config.image_size,
        signal=config.signal,
        best_hour=config.best_hour,
        hour_lift=config.hour_lift,
    )


def _draw_kind(gi: int, forced: dict[str, int], rng: np.random.Generator) -> tuple[str, bool]:
    """The post's kind and whether its likes are hidden; post ``gi`` (counted over every
    account) may be the one forced to be a carousel, a video or hidden."""
    free = gi not in forced.values()
    kind = "image"
    if gi == forced.get("carousel") or (free and rng.random() < CAROUSEL_RATE):
        kind = "carousel"
    elif gi == forced.get("video") or (free and rng.random() < VIDEO_RATE):
        kind = "video"
    hidden = gi == forced.get("hidden") or (free and rng.random() < HIDDEN_RATE)
    return kind, hidden


def _draw_shape(image_size: int, rng: np.random.Generator) -> tuple[int, int]:
    shape = rng.random()
    if shape < 0.7:
        return image_size, image_size
    if shape < 0.9:
        return int(image_size * 0.8), image_size
    return image_size, int(image_size * 0.8)


def _draw_post(
    account: Account,
    gi: int,
    taken: datetime,
    forced: dict[str, int],
    image_size: int,
    rng: np.random.Generator,
    signal: float = BETA,
    hour_effect: float = 0.0,
) -> _Post:
    from instaloader import Post

    q = float(rng.normal())
    kind, hidden = _draw_kind(gi, forced, rng)
    n_children = int(rng.integers(2, 5)) if kind == "carousel" else 1
    w, h = _draw_shape(image_size, rng)

    f_post = account.followers_at(taken)
    local_hour = (taken.hour + account.utc_offset) % 24
    tod = 0.12 * math.exp(-(((local_hour - 19.5) / 2.5) ** 2))
    kind_effect = {"image": 0.0, "carousel": 0.15, "video": -0.2}[kind]
    log_final = (
        math.log(f_post * account.base_rate)
        + account.account_effect
        + signal * q
        + tod
        + hour_effect
        + kind_effect
        + float(rng.normal(0, NOISE_SIGMA))
    )
    final_likes = max(1, int(round(math.exp(log_final))))
    age_days = (SCRAPE_TIME - taken).total_seconds() / 86400
    seen_likes = max(1, int(round(final_likes * (1 - math.exp(-age_days / 0.8)))))
    comments = int(rng.poisson(max(0.2, seen_likes * 0.02 * math.exp(rng.normal(0, 0.4)))))
    mediaid = int(rng.integers(2**60, 2**62))
    # Keyword arguments are evaluated in order: tagged, sponsor, then location draw.
    return _Post(
        taken=taken,
        q=q,
        kind=kind,
        hidden=hidden,
        n_children=n_children,
        width=w,
        height=h,
        followers=f_post,
        final_likes=final_likes,
        seen_likes=seen_likes,
        age_days=age_days,
        comments=comments,
        mediaid=mediaid,
        shortcode=Post.mediaid_to_shortcode(mediaid),
        tagged=[str(rng.choice(FRIENDS))] if rng.random() < 0.2 else [],
        sponsor="brand.partner" if rng.random() < 0.03 else None,
        location=str(rng.choice(account.theme["places"])) if rng.random() < 0.35 else None,
    )


def _write_images(
    account: Account, post: _Post, rng: np.random.Generator
) -> tuple[list[str], dict[str, float]]:
    """The post's image files (a carousel's children look alike); returns their names and
    the knobs of the first (cover) image."""
    image_files: list[str] = []
    knobs_first: dict[str, float] = {}
    for c in range(post.n_children):
        q_img = post.q if c == 0 else post.q + float(rng.normal(0, 0.3))
        rgb, knobs = render_image(post.width, post.height, q_img, account.theme, rng)
        name = f"{post.base}_{c + 1}.jpg" if post.kind == "carousel" else f"{post.base}.jpg"
        save_jpeg(rgb, account.target / name, post.taken)
        image_files.append(name)
        if c == 0:
            knobs_first = knobs
    return image_files, knobs_first


def _post_node(
    account: Account, post: _Post, has_subject: bool, rng: np.random.Generator
) -> dict[str, Any]:
    alt = "May be an image of " + ("1 person, smiling and outdoors" if has_subject else "outdoors")
    return make_post_node(
        shortcode=post.shortcode,
        mediaid=post.mediaid,
        owner_username=account.username,
        owner_id=account.userid,
        followers=account.followers_at(SCRAPE_TIME),
        taken_at=post.taken,
        likes=-1 if post.hidden else post.seen_likes,
        comments=post.comments,
        caption=caption(account.theme, rng, account.others),
        typename=_TYPENAMES[post.kind],
        n_children=post.n_children,
        tagged_users=post.tagged,
        sponsor=post.sponsor,
        location=post.location,
        accessibility_caption=alt,
        width=post.width,
        height=post.height,
        video_view_count=post.seen_likes * 9 if post.kind == "video" else None,
    )


def _refresh(account: Account, post: _Post, node: dict[str, Any]) -> int | None:
    """A young post is observed again two days after the scrape; returns its likes then."""
    if post.age_days >= REFRESH_DAYS or post.hidden:
        return None
    later = SCRAPE_TIME + timedelta(days=2)
    age2 = post.age_days + 2
    refreshed_likes = max(1, int(round(post.final_likes * (1 - math.exp(-age2 / 0.8)))))
    node2 = dict(node)
    node2["edge_media_preview_like"] = {"count": refreshed_likes}
    node2["owner"] = dict(node["owner"], edge_followed_by={"count": account.followers_at(later)})
    write_refresh(account.target, node2, observed_at=later)
    return refreshed_likes


def _write_post(
    account: Account, post: _Post, p: int, rng: np.random.Generator, summary: SampleSummary
) -> None:
    """Post number ``p`` of ``account``: images, metadata, caption file and, for a young
    post, its refresh; counted and recorded in ``summary``."""
    image_files, knobs = _write_images(account, post, rng)
    node = _post_node(account, post, bool(knobs["has_subject"]), rng)
    # The download happened at the scrape, a few seconds apart per post.
    meta = account.target / f"{post.base}.json.xz"
    save_post(node, meta)
    set_mtime(meta, SCRAPE_TIME + timedelta(seconds=p))
    caption_txt = account.target / f"{post.base}.txt"
    caption_txt.write_text(node["edge_media_to_caption"]["edges"][0]["node"]["text"])
    set_mtime(caption_txt, post.taken)
    refreshed_likes = _refresh(account, post, node)

    summary.n_posts += 1
    summary.n_images += len(image_files)
    summary.n_carousels += post.kind == "carousel"
    summary.n_videos += post.kind == "video"
    summary.n_hidden += post.hidden
    summary.n_refresh += refreshed_likes is not None
    summary.truth.append(
        {
            "shortcode": post.shortcode,
            "owner_username": account.username,
            "taken_at": post.taken.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "q": round(post.q, 6),
            "typename": node["__typename"],
            "followers": post.followers,
            "likes_final": post.final_likes,
            "likes_observed": -1 if post.hidden else post.seen_likes,
            "likes_refreshed": refreshed_likes if refreshed_likes is not None else "",
            "hidden": int(post.hidden),
            "blur_sigma": round(knobs["blur_sigma"], 4),
            "exposure_ev": round(knobs["exposure_ev"], 4),
            "saturation": round(knobs["saturation"], 4),
            "has_subject": int(knobs["has_subject"]),
            "image_files": ";".join(image_files),
        }
    )


def _write_account_files(account: Account) -> None:
    """Monthly follower snapshots plus one at the scrape; the profile file as instaloader
    writes it; the id file instaloader keeps per target."""
    target = account.target
    for k in range(int(SPAN_DAYS // 30) + 1):
        t = SCRAPE_TIME - timedelta(days=SPAN_DAYS - 30 * k)
        write_profile_snapshot(
            target,
            username=account.username,
            userid=account.userid,
            followers=account.followers_at(t),
            followees=account.followees,
            mediacount=sum(1 for x in account.times if x <= t),
            observed_at=t,
        )
    profile_file = target / f"{account.username}_{account.userid}.json.xz"
    save_profile(
        username=account.username,
        userid=account.userid,
        followers=account.followers_at(SCRAPE_TIME),
        followees=account.followees,
        filename=profile_file,
    )
    set_mtime(profile_file, SCRAPE_TIME)
    (target / "id").write_text(str(account.userid))
    set_mtime(target / "id", SCRAPE_TIME)
