"""What a scrape run did: one :class:`TargetResult` per profile or hashtag, gathered in a
:class:`ScrapeReport` whose ``summary()`` is what ``picme scrape`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass
class TargetResult:
    target: str  # "name" for a profile, "#tag" for a hashtag
    kind: str  # "profile" or "hashtag"
    posts_new: int = 0
    images: int = 0
    posts_refreshed: int = 0
    posts_known: int = 0  # already in raw/ and not due for a refresh
    snapshot: Path | None = None
    followers: int | None = None
    post_errors: list[str] = field(default_factory=list)
    error: str | None = None
    complete: bool = False  # the pass reached its natural end

    def line(self) -> str:
        parts = [f"{self.posts_new} new ({self.images} images)"]
        if self.posts_refreshed:
            parts.append(f"{self.posts_refreshed} likes refreshed")
        if self.posts_known:
            parts.append(f"{self.posts_known} already present")
        if self.followers is not None:
            parts.append(f"{self.followers:,} followers")
        if self.post_errors:
            parts.append(f"{len(self.post_errors)} posts failed")
        if self.error:
            parts.append(f"error: {self.error}")
        elif not self.complete:
            parts.append("incomplete, the next run continues")
        label = self.target if self.kind == "hashtag" else f"@{self.target}"
        return f"  {label}: " + ", ".join(parts)


@dataclass
class ScrapeReport:
    run_at: datetime
    raw_dir: Path
    max_requests: int
    targets: list[TargetResult] = field(default_factory=list)
    requests: int = 0
    stopped: str | None = None  # why the run ended before its last target

    @property
    def posts_new(self) -> int:
        return sum(t.posts_new for t in self.targets)

    @property
    def images(self) -> int:
        return sum(t.images for t in self.targets)

    @property
    def posts_refreshed(self) -> int:
        return sum(t.posts_refreshed for t in self.targets)

    @property
    def snapshots(self) -> int:
        return sum(t.snapshot is not None for t in self.targets)

    @property
    def errors(self) -> list[str]:
        """One line per failed target or post: ``target: message``."""
        out = [f"{t.target}: {t.error}" for t in self.targets if t.error]
        out += [f"{t.target}: post {e}" for t in self.targets for e in t.post_errors]
        return out

    def summary(self) -> str:
        head = (
            f"scraped {len(self.targets)} target(s) into {self.raw_dir}: "
            f"{self.posts_new} new posts ({self.images} images), "
            f"{self.posts_refreshed} like refreshes, {self.snapshots} profile snapshots, "
            f"{self.requests}/{self.max_requests} requests"
        )
        lines = [head] + [t.line() for t in self.targets]
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}")
        return "\n".join(lines)
