"""What an ingest did: counts per table and every skipped file with a one-line reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


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
