"""The lake as an ingest finds it: its tables, and which raw files it already holds, so
that a file unchanged since the last ingest is not parsed again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from picme.lake import tables as lake
from picme.settings import Settings

Stat = tuple[int, int]  # (size, mtime_ns) of a raw file


@dataclass
class Stored:
    """The lake as it is, and what of raw/ it already holds."""

    tables: dict[str, pa.Table]
    media_stats: dict[str, tuple[Any, Any]]  # image path -> (size_bytes, mtime_ns)
    post_codes: set[str]
    post_files: set[str]  # metadata_path of every post row
    read_files: set[tuple[str, int, int]]  # (path, size, mtime_ns) of observations' sources
    profile_files: set[tuple[str, datetime]]  # (path, mtime) of profile files read

    @classmethod
    def read(cls, settings: Settings) -> Stored:
        tables = {
            name: _table(settings, name)
            for name in ("posts", "post_observations", "profiles", "media")
        }
        media, posts = tables["media"], tables["posts"]
        obs, profiles = tables["post_observations"], tables["profiles"]
        col = _column
        return cls(
            tables=tables,
            media_stats={
                p: (s, m)
                for p, s, m in zip(
                    col(media, "path"),
                    col(media, "size_bytes"),
                    col(media, "mtime_ns"),
                    strict=True,
                )
            },
            post_codes=set(col(posts, "shortcode")),
            post_files={p for p in col(posts, "metadata_path") if p},
            read_files={
                (p, s, m)
                for p, s, m in zip(
                    col(obs, "source_path"),
                    col(obs, "source_size"),
                    col(obs, "source_mtime_ns"),
                    strict=True,
                )
                if s is not None and m is not None
            },
            profile_files={
                (p, t)
                for p, t in zip(
                    col(profiles, "source_path"), col(profiles, "observed_at"), strict=True
                )
                if p
            },
        )

    def unchanged(self, path: Path, stat: Stat | None) -> bool:
        """Read before, not modified since, and its observation is stored."""
        return stat is not None and (str(path), *stat) in self.read_files


def _column(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()


def _table(settings: Settings, name: str) -> pa.Table:
    table = lake.read_table(settings, name)
    return lake.empty_table(name) if table is None else table
