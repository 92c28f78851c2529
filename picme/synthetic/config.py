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
