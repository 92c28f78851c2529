"""The ingest stage's options, declared once.

``picme ingest`` turns the fields into its command-line options (:mod:`picme.cli.options`;
the raw folders stay its positional argument), the Prefect flow takes an ``IngestConfig``
as its parameter (a deployment shows each description), and
:func:`picme.lake.ingest.ingest` reads it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class IngestConfig(BaseModel):
    """Which raw folders to read, and with how many worker processes."""

    raw_dirs: list[Path] = Field(
        default_factory=list,
        description="instaloader trees: a folder of targets or one target (default: raw/).",
        json_schema_extra={"cli": False},
    )
    workers: int = Field(
        default=0,
        description="Worker processes for image checks (0: PICME_WORKERS, else one a core).",
    )
