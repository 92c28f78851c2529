"""The ``$parameters`` of the build's queries, from the settings, checked before any work.

A value out of range is an :class:`~picme.errors.InputError` naming the setting (and its
environment variable), so ``picme features`` fails in a second, not after the image
features.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from picme.dataset.contract import (
    BASELINE_MIN_POSTS,
    NEAR_DUPLICATE_BITS,
    PAIR_NEIGHBOURS,
    SPLIT_STRATEGIES,
)
from picme.errors import InputError
from picme.features.extractors import FEATURE_COLUMNS
from picme.settings import Settings


def query_parameters(settings: Settings, now: datetime) -> dict[str, Any]:
    """The $parameters of the sql/ queries, from settings (validated: a value out of range
    is an InputError naming the setting)."""
    if settings.split not in SPLIT_STRATEGIES:
        raise InputError(
            f"split {settings.split!r} is unknown: use one of {', '.join(SPLIT_STRATEGIES)} "
            "(PICME_SPLIT or --split)"
        )
    tf, vf = settings.test_fraction, settings.val_fraction
    if not (0 < tf < 1 and 0 <= vf < 1 and tf + vf < 1):
        raise InputError(
            f"test_fraction {tf} and val_fraction {vf} must be fractions with "
            "0 < test, 0 <= val and test + val < 1 (PICME_TEST_FRACTION, PICME_VAL_FRACTION)"
        )
    checks = {
        "baseline_window (PICME_BASELINE_WINDOW)": settings.baseline_window >= 1,
        "min_posts_per_account (PICME_MIN_POSTS_PER_ACCOUNT)": settings.min_posts_per_account >= 1,
        "settle_days (PICME_SETTLE_DAYS)": settings.settle_days >= 0,
        "pair_window_days (PICME_PAIR_WINDOW_DAYS)": settings.pair_window_days > 0,
        "pair_margin (PICME_PAIR_MARGIN)": settings.pair_margin >= 0,
        "engagement_threshold (PICME_ENGAGEMENT_THRESHOLD)": math.isfinite(
            settings.engagement_threshold
        ),
    }
    for name, ok in checks.items():
        if not ok:
            raise InputError(f"setting {name} is out of range")
    return {
        "now": now,
        "threshold": float(settings.engagement_threshold),
        "settle_days": float(settings.settle_days),
        "include_videos": bool(settings.include_videos),
        "min_posts": int(settings.min_posts_per_account),
        "baseline_window": int(settings.baseline_window),
        "min_baseline": min(BASELINE_MIN_POSTS, int(settings.baseline_window)),
        "test_fraction": float(tf),
        "val_fraction": float(vf),
        "seed": int(settings.seed),
        "max_distance": NEAR_DUPLICATE_BITS,
        "window_days": float(settings.pair_window_days),
        "margin": float(settings.pair_margin),
        "max_neighbours": PAIR_NEIGHBOURS,
        "feature_columns": list(FEATURE_COLUMNS),
    }


def json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as split.json records them: JSON values, without the feature column
    list (recorded on its own)."""
    out = {k: v for k, v in params.items() if k != "feature_columns"}
    out["now"] = params["now"].isoformat()
    return out
