"""The raw/ time stamp reads back as the UTC time it was written from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from picme.util.timefmt import format_stamp, parse_stamp


def test_stamp_round_trip_in_utc() -> None:
    moment = datetime(2026, 1, 31, 13, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert format_stamp(moment) == "20260131T120005Z"
    assert parse_stamp("20260131T120005Z") == datetime(2026, 1, 31, 12, 0, 5, tzinfo=UTC)


def test_a_name_that_is_not_a_stamp_is_none() -> None:
    assert parse_stamp("notastamp") is None
    assert parse_stamp("2026-01-31") is None
