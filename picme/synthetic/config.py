"""The options of ``picme generate``, declared once: the command line and
:func:`picme.synthetic.instagram.generate_from_config` read them from here."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class GenerateConfig(BaseModel):
    """How much sample data to generate, and where."""

    out: Path | None = Field(default=None, description="Target folder (default: raw/).")
    accounts: int = Field(default=6, description="Number of accounts.")
    posts: int = Field(default=40, description="Posts per account.")
    seed: int = Field(default=0, description="Random seed: the same seed writes the same files.")
    image_size: int = Field(default=256, description="Long side of images (px).")
    signal: float = Field(
        default=0.6,
        description="Log likes per unit of the planted image quality (0: likes do not "
        "follow the images at all, a sample with nothing to learn).",
    )
    best_hour: int | None = Field(
        default=None,
        description="A UTC hour (0-23) whose posts get --hour-lift more log likes, posting "
        "times then spread over the whole day (default: no planted best hour).",
    )
    hour_lift: float = Field(
        default=0.8, description="Log likes added to posts made in --best-hour."
    )
