"""The options of the features stage (``picme features``, the features flow), declared once.

Each option left at its default leaves the setting of the environment (``PICME_*``) alone:
only a value given overrides it, so ``PICME_INCLUDE_VIDEOS=1`` holds when
``--include-videos`` is not passed.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class FeaturesConfig(BaseModel):
    """How to compute the image features and build the training table."""

    workers: int = Field(default=0, description="Processes (0: one per core).")
    split: str | None = Field(default=None, description="'account' or 'time'.")
    threshold: float | None = Field(
        default=None, description="Binary label: likes/followers above this."
    )
    include_videos: bool | None = Field(
        default=None, description="Keep videos (their cover image); or PICME_INCLUDE_VIDEOS."
    )

    def settings_overrides(self) -> dict[str, object]:
        """The settings this configuration overrides (the options given, by setting name)."""
        overrides: dict[str, object] = {}
        if self.include_videos is not None:
            overrides["include_videos"] = self.include_videos
        if self.workers:
            overrides["workers"] = self.workers
        if self.split:
            overrides["split"] = self.split
        if self.threshold is not None:
            overrides["engagement_threshold"] = self.threshold
        return overrides
