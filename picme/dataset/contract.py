"""The training table's contract: its column lists, the splits, the exclusion reasons and
the constants of the build's rules.

The models read ``METADATA_COLUMNS`` (with :data:`picme.features.extractors.FEATURE_COLUMNS`);
docs/features.md explains every column and rule, and the queries in ``sql/`` compute them.
"""

from __future__ import annotations

#: Numeric metadata known before posting, all DOUBLE, in the table's column order
#: (computed by sql/metadata.sql; docs/features.md gives each one's meaning and range).
METADATA_COLUMNS: list[str] = [
    "hour",
    "weekday",
    "caption_len",
    "n_hashtags",
    "n_mentions",
    "n_tagged",
    "is_carousel",
    "n_images",
    "is_sponsored",
    "has_location",
    "size_bucket",
    "log_followers",
]

#: Columns before METADATA_COLUMNS and FEATURE_COLUMNS in training.parquet.
BASE_COLUMNS: list[str] = [
    "shortcode",
    "owner_username",
    "taken_at",
    "image_path",
    "sha256",
    "likes",
    "followers",
    "engagement",
    "log_engagement",
    "label",
    "log_likes",
    "baseline_log_likes",
    "rel_log_likes",
    "label_rel",
    "split",
]
PAIR_COLUMNS: list[str] = ["owner_username", "shortcode_a", "shortcode_b", "target", "split"]
SPLITS = ("train", "val", "test")
SPLIT_STRATEGIES = ("account", "time")

#: A post needs this many earlier posts for a baseline (capped by settings.baseline_window).
BASELINE_MIN_POSTS = 3
#: Perceptual hashes at most this many bits apart are the same picture for the split.
NEAR_DUPLICATE_BITS = 4
#: A post is paired with at most this many following posts of its account.
PAIR_NEIGHBOURS = 50

# Exclusion reasons in the order the queries test them (docs/features.md explains each).
REASONS: tuple[str, ...] = (
    "missing_shortcode",
    "duplicate_shortcode",
    "missing_owner",
    "invalid_taken_at",
    "invalid_observed_at",
    "invalid_followers",
    "negative_likes",
    "hidden_likes",
    "unsettled",
    "video",
    "no_image",
    "undecodable_image",
    "no_image_features",
    "no_baseline",
    "few_posts",
    "same_image_across_splits",
    "near_duplicate_across_splits",
)

# Input columns: family, DuckDB type, required. Optional columns missing from a file are
