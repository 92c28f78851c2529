"""CurateConfig: the options of the curate stage, declared once.

``picme curate`` turns the fields into its options (picme.cli.options.config_options), the
curate flow takes the model as its ``config`` parameter (a deployment shows each
description), and :func:`picme.curate.run.curate` reads it. The album is not an option: it
is the command's argument and the flow's first parameter.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class CurateConfig(BaseModel):
    """How to curate an album: how many highlights, scored by which model, written where."""

    # A misspelt option in a deployment's parameters should fail, not be ignored.
    model_config = ConfigDict(extra="forbid")

    top: int = Field(default=20, description="How many highlights to pick.")
    model: str | None = Field(
        default=None, description="Model URI or 'heuristic' (default: champion if any)."
    )
    out: Path | None = Field(
        default=None, description="Output folder (default: ALBUM-picme beside it; never inside it)."
    )
    workers: int = Field(default=0, description="Processes (0: one per core).")
    xmp: bool = Field(
        default=False,
        description="Write an XMP sidecar (rating, pick/reject label) for every photo read, "
        "under OUT/xmp/ mirroring the album.",
    )
    xmp_beside: bool = Field(
        default=False,
        description="Also write the sidecars beside the photos in the album (never over a "
        "sidecar PicMe did not write; the photos are not touched). Implies --xmp.",
    )
    copy_picks: Path | None = Field(
        default=None,
        description="Copy the picks into this folder (outside the album), mirroring the "
        "album's paths; replaced as a whole on the next run.",
    )
    link_picks: bool = Field(
        default=False,
        description="With --copy-picks: hard-link (or symlink) the picks instead of copying.",
    )
