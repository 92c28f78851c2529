"""The compact UTC time stamp that names raw/ folders and files (``20260131T120000Z``).

Scrape names profile snapshots and like-refresh folders with it, ingest reads the time back
from those names, and the synthetic generator writes the same layout: one format for all.
"""

from __future__ import annotations

from datetime import UTC, datetime

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def format_stamp(moment: datetime) -> str:
    """``moment`` in UTC as a stamp; a naive ``moment`` is taken as local time (Python's
    rule for :meth:`datetime.astimezone`)."""
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def parse_stamp(text: str) -> datetime | None:
    """The UTC time a stamp names, or None when ``text`` is not a stamp."""
    try:
        return datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
