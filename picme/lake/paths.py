"""Where every file of the lake lives: each table, the training folder and its files, the
image features, the ingest lock and the DuckDB file.

Every stage asks here instead of joining folder names itself, so the layout is written down
once (docs/data.md describes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from picme.settings import Settings

# Tables kept as one file, relative to the lake folder.
SINGLE_FILE: dict[str, str] = {
    "posts": "posts/posts.parquet",
    "profiles": "profiles/profiles.parquet",
    "media": "media/media.parquet",
    "image_features": "image_features/image_features.parquet",
    "training": "training/training.parquet",
    "pairs": "training/pairs.parquet",
    "exclusions": "training/exclusions.parquet",
}
# Tables kept as a folder of append-only part files.
PARTITIONED = frozenset({"post_observations", "feedback"})


@dataclass(frozen=True)
class LakePaths:
    """The paths of one PICME_HOME's lake."""

    root: Path  # settings.lake_dir
    duckdb: Path  # the DuckDB file with views over the lake (beside the lake, not in it)

    def table(self, name: str) -> Path:
        """The file of a single-file table, or the folder of a partitioned one."""
        if name in SINGLE_FILE:
            return self.root / SINGLE_FILE[name]
        if name in PARTITIONED:
            return self.root / name
        return self.root / name / f"{name}.parquet"

    @property
    def posts(self) -> Path:
        return self.table("posts")

    @property
    def observations_dir(self) -> Path:
        return self.table("post_observations")

    @property
    def profiles(self) -> Path:
        return self.table("profiles")

    @property
    def media(self) -> Path:
        return self.table("media")

    @property
    def image_features(self) -> Path:
        return self.table("image_features")

    @property
    def training_dir(self) -> Path:
        """The folder the training table is built into, all or nothing."""
        return self.root / "training"

    @property
    def training(self) -> Path:
        return self.table("training")

    @property
    def pairs(self) -> Path:
        return self.table("pairs")

    @property
    def exclusions(self) -> Path:
        return self.table("exclusions")

    @property
    def split(self) -> Path:
        """split.json: how the training table was split, to rebuild it exactly."""
        return self.training_dir / "split.json"

    @property
    def feedback_dir(self) -> Path:
        """The person's keep/reject/star decisions, one part file per decision."""
        return self.table("feedback")

    @property
    def ingest_lock(self) -> Path:
        return self.root / ".ingest.lock"


def lake_paths(settings: Settings) -> LakePaths:
    return LakePaths(root=settings.lake_dir, duckdb=settings.duckdb_path)


def table_path(settings: Settings, name: str) -> Path:
    """The file of a single-file table, or the folder of a partitioned one."""
    return lake_paths(settings).table(name)
