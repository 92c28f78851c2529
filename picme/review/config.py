"""ReviewConfig: the options of ``picme review``, declared once (the CLI derives its
options from the fields, see picme.cli.options)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

LOOPBACK = "127.0.0.1"


class ReviewConfig(BaseModel):
    """Where to serve the review of an album, and which curation it shows."""

    model_config = ConfigDict(extra="forbid")

    port: int = Field(default=8765, description="Port to serve on (0: any free port).")
    host: str = Field(
        default=LOOPBACK,
        description="Address to bind; anything but loopback needs --token.",
    )
    # repr=False: a configuration printed or logged never shows the token.
    token: str | None = Field(
        default=None,
        repr=False,
        description="Secret every request must carry (needed off loopback; never logged).",
    )
    out: Path | None = Field(
        default=None,
        description="Curation output folder (default: ALBUM-picme beside the album).",
    )
    recurate: bool = Field(
        default=False, description="Curate the album again first, even if a curation exists."
    )
    top: int = Field(default=20, description="Highlights to pick when curating first.")
    model: str | None = Field(
        default=None, description="Scorer when curating first (default: champion if any)."
    )
    export: bool = Field(
        default=False,
        description="Write the reviewed picks and highlights, then exit (no server).",
    )
    xmp: bool = Field(
        default=True,
        description="Export XMP sidecars (rating, pick/reject) of the reviewed statuses.",
    )
    export_dir: Path | None = Field(
        default=None,
        json_schema_extra={"cli": "--export-to"},
        description="Export folder (default: ALBUM-picme-reviewed beside the album).",
    )
