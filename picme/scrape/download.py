"""Files into raw/: a post, a like refresh, a profile snapshot, a profile's metadata.

Everything is written into a staging folder under the state folder first and renamed into
raw/ when complete, a post's metadata last; a crash or Ctrl-C leaves at worst a staging
folder, never half a post in raw/. A file already in raw/ is never rewritten.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import instaloader
from instaloader import (
    InstaloaderContext,
    InstaloaderException,
    Post,
    PostChangedException,
    Profile,
)

from picme.scrape.errors import ScrapeError
from picme.scrape.state import Known, safe_name
from picme.util.timefmt import format_stamp

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic"}


class Downloader:
    """Writes one run's files; ``run_at`` names its snapshots and refresh folders."""

    def __init__(self, loader: Any, staging: Path, run_at: datetime) -> None:
        self.loader = loader
        self.staging = staging
        self.run_at = run_at
        self.run_stamp = format_stamp(run_at)
        # A pinned run time shifts every observation time of the run alike.
        self.clock_offset = run_at - datetime.now(UTC)

    def now(self) -> datetime:
        """The run's clock: the real time, shifted when the run time was pinned."""
        return datetime.now(UTC) + self.clock_offset

    def post(
        self, post: Post, target: str, target_dir: Path, owner: Profile | None
    ) -> tuple[int, str]:
        """Download a new post into ``target_dir``; (image files, file basename)."""
        stage = self.staging / safe_name(target) / post.shortcode
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        try:
            # Braces in the path would be read as instaloader format fields.
            self.loader.dirname_pattern = str(stage).replace("{", "{{").replace("}", "}}")
            post = with_owner(self.loader.context, post, owner)
            try:
                self.loader.download_post(post, target=target)
            except PostChangedException:
                # Instaloader's own loop retries once the post's new identity is known.
                self.loader.download_post(post, target=target)
            metadata = next(stage.glob("*.json.xz"), None)
            if metadata is None:
                raise ScrapeError(f"instaloader wrote no metadata for post {post.shortcode}")
            # The metadata file's time is the post's observation time (the raw contract).
            observed = self.now().timestamp()
            os.utime(metadata, (observed, observed))
            basename = metadata.name[: -len(".json.xz")]
            images = publish_post(stage, target_dir)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        return images, basename

    def refresh(self, post: Post, target_dir: Path, seen: Known, owner: Profile | None) -> bool:
        """Save a new observation of a post already in raw/; False when this run has one."""
        dest = target_dir / "refresh" / self.run_stamp / f"{seen.basename}.json.xz"
        if dest.exists():
            return False
        stage = self.staging / "_refresh" / f"{seen.basename}.json.xz"
        stage.parent.mkdir(parents=True, exist_ok=True)
        post = with_owner(self.loader.context, post, owner)
        instaloader.save_structure_to_file(post, str(stage))
        return publish(stage, dest)

    def snapshot(self, profile: Profile) -> dict[str, Any]:
        """The profile's counts now (what profile_snapshots/<stamp>.json holds)."""

        def optional(read: Callable[[], Any]) -> Any:
            try:
                return read()
            except (KeyError, InstaloaderException):
                return None

        return {
            "username": profile.username,
            "userid": int(profile.userid),
            "followers": int(profile.followers),
            "followees": optional(lambda: profile.followees),
            "mediacount": optional(lambda: profile.mediacount),
            "is_private": bool(profile.is_private),
            "observed_at": self.run_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def write_snapshot(self, target_dir: Path, snapshot: dict[str, Any]) -> Path:
        dest = target_dir / "profile_snapshots" / f"{self.run_stamp}.json"
        if not dest.exists():
            stage = self.staging / "_profiles" / f"{safe_name(target_dir.name)}.json"
            stage.parent.mkdir(parents=True, exist_ok=True)
            stage.write_text(json.dumps(snapshot, sort_keys=True) + "\n", encoding="utf-8")
            publish(stage, dest)
        return dest

    def write_profile_json(self, target_dir: Path, profile: Profile) -> None:
        """Instaloader's ``<profile>_<userid>.json.xz``, written once."""
        dest = target_dir / f"{profile.username}_{profile.userid}.json.xz"
        if dest.exists():
            return
        stage = self.staging / "_profiles" / dest.name
        stage.parent.mkdir(parents=True, exist_ok=True)
        instaloader.save_structure_to_file(profile, str(stage))
        publish(stage, dest)


def with_owner(context: InstaloaderContext, post: Post, owner: Profile | None) -> Post:
    """The post, carrying its owner's full profile when the owner is the scraped profile,
    so that its saved metadata records the follower count at the time of download (as
    instaloader's own profile downloads do)."""
    if owner is None:
        return post
    try:
        if int(post.owner_id) != int(owner.userid):
            return post
    except (KeyError, TypeError, ValueError, InstaloaderException):
        return post
    node = instaloader.get_json_structure(post)["node"]
    return Post(context, node, owner_profile=owner)


def publish(src: Path, dst: Path) -> bool:
    """Move a finished file into raw/; an existing file is kept (raw/ is never rewritten)."""
    if dst.exists():
        src.unlink(missing_ok=True)
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        # raw/ on another disk than the state folder: copy beside the target, then rename.
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
        src.unlink()
    return True


def publish_post(stage: Path, target_dir: Path) -> int:
    """Move a staged post into raw/, metadata last so that a present .json.xz always means
    a complete post; return how many image files arrived."""
    files = [p for p in stage.iterdir() if p.is_file() and not p.name.endswith(".temp")]
    images = 0
    for path in sorted(files, key=lambda p: (p.name.endswith(".json.xz"), p.name)):
        if publish(path, target_dir / path.name) and path.suffix.lower() in IMAGE_SUFFIXES:
            images += 1
    return images
