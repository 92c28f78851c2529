"""What a scrape remembers between runs, outside raw/: instaloader's LatestStamps (the
newest post of the last complete pass per target), resume files of cut-short passes, the
staging folder, and the lock that lets one scrape at a time use a PICME_HOME.

Also what raw/ already holds: :func:`index_existing` lists the posts of a target folder, so
a rerun never downloads a post twice.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import logging
import lzma
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import instaloader
from instaloader import LatestStamps

from picme.scrape.errors import ScrapeError
from picme.util import logsafe
from picme.util.atomic import atomic_open
from picme.util.locks import Busy, exclusive
from picme.util.timefmt import parse_stamp

if TYPE_CHECKING:
    from picme.settings import Settings

logger = logging.getLogger(__name__)
logsafe.install(__name__)

_POST_FILE = re.compile(
    r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_UTC(?:_(?P<shortcode>[A-Za-z0-9_-]+))?\.json\.xz$"
)


class Stamps(LatestStamps):
    """LatestStamps that saves by write-then-rename and survives a damaged file."""

    def __init__(self, path: Path) -> None:
        try:
            super().__init__(str(path))
        except configparser.Error as exc:
            logger.warning("ignoring unreadable scrape state %s (%s); starting afresh", path, exc)
            self.file = str(path)
            self.data = configparser.ConfigParser()

    def _save(self) -> None:
        with atomic_open(self.file, "w", encoding="utf-8") as fh:
            self.data.write(fh)


def save_frozen(frozen: Any, path: str) -> None:
    """Instaloader's resume file, written by write-then-rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.json.xz")
    instaloader.save_structure_to_file(frozen, str(tmp))
    os.replace(tmp, target)


def state_dir(settings: Settings) -> Path:
    return settings.home / "state" / "scrape"


def safe_name(target: str) -> str:
    """A target as a folder name under the state folder."""
    return re.sub(r"[^\w.-]", "_", target)


@contextlib.contextmanager
def one_scrape_at_a_time(settings: Settings) -> Iterator[None]:
    """One scrape per PICME_HOME at a time: two would share the rate limit and race on
    raw/ (instaloader itself warns against parallel instances)."""
    state = state_dir(settings)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(
                exclusive(
                    state / "scrape.lock",
                    f"another `picme scrape` is running on {settings.home}; wait for it to finish",
                )
            )
        except Busy as exc:
            raise ScrapeError(str(exc)) from None
        yield


@dataclass
class Known:
    """A post already in raw/: its file basename and when its likes were last observed."""

    basename: str
    observed_at: datetime


def basename_time(basename: str) -> datetime | None:
    """The UTC time a post was taken, from its instaloader file name."""
    try:
        return datetime.strptime(basename[:19], "%Y-%m-%d_%H-%M-%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _shortcode_in(path: Path) -> str | None:
    """Shortcode stored in a post's .json.xz (files named without one, e.g. instaloader's
    default ``<date>_UTC.json.xz``)."""
    try:
        with lzma.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, lzma.LZMAError, ValueError, EOFError):
        return None
    node = data.get("node") if isinstance(data, dict) else None
    kind = (data.get("instaloader") or {}).get("node_type") if isinstance(data, dict) else None
    if not isinstance(node, dict) or kind not in (None, "Post"):
        return None
    code = node.get("shortcode") or node.get("code")
    return str(code) if code else None


def index_existing(target_dir: Path) -> dict[str, Known]:
    """Posts already in ``target_dir`` (their .json.xz is present), by shortcode, with the
    time of their latest observation (metadata file or latest like refresh)."""
    known: dict[str, Known] = {}
    if not target_dir.is_dir():
        return known
    for path in target_dir.iterdir():
        match = _POST_FILE.match(path.name)
        if match is None or not path.is_file():
            continue
        code = match.group("shortcode") or _shortcode_in(path)
        if code is None:
            continue
        observed = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        known[code] = Known(path.name[: -len(".json.xz")], observed)
    refresh_root = target_dir / "refresh"
    if refresh_root.is_dir():
        by_basename = {k.basename: k for k in known.values()}
        for folder in refresh_root.iterdir():
            moment = parse_stamp(folder.name)
            if moment is None or not folder.is_dir():
                continue
            for path in folder.glob("*.json.xz"):
                entry = by_basename.get(path.name[: -len(".json.xz")])
                if entry is not None and moment > entry.observed_at:
                    entry.observed_at = moment
    return known
