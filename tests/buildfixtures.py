"""Lake rows for the feature-build tests, made in the test (no images are read by the build).

``post(...)`` is one posts row with every contract column; ``lake_tables(rows)`` adds the
matching media and image_features rows; ``load(con, ...)`` puts them into a DuckDB
connection under the names the sql/ queries read; ``write_lake`` writes them as the lake's
Parquet files.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from picme.features.extractors import FEATURE_COLUMNS

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# Only the contract columns, on purpose (not picme.lake.tables's schemas, which carry
# ingest's extra columns): the build must work on any lake that honours the contract.
_TS = pa.timestamp("us", tz="UTC")

POSTS_SCHEMA = pa.schema(
    [
        ("shortcode", pa.string()),
        ("owner_username", pa.string()),
        ("owner_id", pa.int64()),
        ("taken_at", _TS),
        ("likes", pa.int64()),
        ("comments", pa.int64()),
        ("followers", pa.int64()),
        ("observed_at", _TS),
        ("caption", pa.string()),
        ("hashtags", pa.list_(pa.string())),
        ("mentions", pa.list_(pa.string())),
        ("tagged_users", pa.list_(pa.string())),
        ("typename", pa.string()),
        ("is_video", pa.bool_()),
        ("is_sponsored", pa.bool_()),
        ("accessibility_caption", pa.string()),
        ("location", pa.string()),
        ("image_path", pa.string()),
        ("n_images", pa.int64()),
    ]
)
MEDIA_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("shortcode", pa.string()),
        ("idx", pa.int64()),
        ("sha256", pa.string()),
        ("width", pa.int64()),
        ("height", pa.int64()),
        ("decodable", pa.bool_()),
        ("error", pa.string()),
    ]
)
FEATURES_SCHEMA = pa.schema(
    [
        ("sha256", pa.string()),
        ("path", pa.string()),
        ("decodable", pa.bool_()),
        ("error", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        *[(c, pa.float64()) for c in FEATURE_COLUMNS],
        ("color_hist", pa.list_(pa.float32())),
        ("phash", pa.string()),
        ("phash_int", pa.int64()),
    ]
)


def sha_of(shortcode: str) -> str:
    return hashlib.sha256(shortcode.encode()).hexdigest()


def phash_of(shortcode: str) -> int:
    """A pseudo-random 64-bit hash per shortcode, as a signed int64 like imagefeat's."""
    value = int.from_bytes(hashlib.md5(shortcode.encode()).digest()[:8], "big")
    return value - (1 << 64) if value >= 1 << 63 else value


def post(
    shortcode: str,
    owner: str,
    taken_at: datetime,
    likes: int | None,
    followers: int | None = 1000,
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "shortcode": shortcode,
        "owner_username": owner,
        "owner_id": zlib.crc32(owner.encode()),
        "taken_at": taken_at,
        "likes": likes,
        "comments": 3,
        "followers": followers,
        "observed_at": NOW,
        "caption": f"caption of {shortcode} #tag",
        "hashtags": ["tag"],
        "mentions": [],
        "tagged_users": [],
        "typename": "GraphImage",
        "is_video": False,
        "is_sponsored": False,
        "accessibility_caption": None,
        "location": None,
        "image_path": f"/lake-images/{owner}/{shortcode}.jpg",
        "n_images": 1,
    }
    row.update(extra)
    return row


def account_posts(
    owner: str,
    n: int,
    *,
    start: datetime | None = None,
    every: timedelta = timedelta(days=1),
    likes: Sequence[int] | None = None,
    followers: int = 1000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """n posts of one account, one every ``every`` starting ``start`` (old enough to be
    settled), with the given likes or pseudo-random ones."""
    rng = random.Random(f"{owner}:{seed}")
    start = start or NOW - timedelta(days=400)
    rows = []
    for i in range(n):
        n_likes = likes[i] if likes is not None else rng.randint(followers // 20, followers)
        rows.append(post(f"{owner}-{i:03d}", owner, start + i * every, n_likes, followers))
    return rows


def lake_tables(
    posts: Iterable[Mapping[str, Any]],
    *,
    media_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    feature_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    skip_media: Iterable[str] = (),
    skip_features: Iterable[str] = (),
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """posts, media and image_features tables; each post's image gets sha256 and phash from
    its shortcode unless overridden (keyed by shortcode)."""
    posts = [dict(p) for p in posts]
    media_overrides = media_overrides or {}
    feature_overrides = feature_overrides or {}
    skip_media, skip_features = set(skip_media), set(skip_features)
    media, features, seen = [], [], set()
    for p in posts:
        code = p["shortcode"]
        if code in skip_media or p["image_path"] is None:
            continue
        m = {
            "path": p["image_path"],
            "shortcode": code,
            "idx": 0,
            "sha256": sha_of(code),
            "width": 64,
            "height": 48,
            "decodable": True,
            "error": None,
        }
        m.update(media_overrides.get(code, {}))
        media.append(m)
        if code in skip_features or m["sha256"] in seen:
            continue
        seen.add(m["sha256"])
        f: dict[str, Any] = {
            "sha256": m["sha256"],
            "path": m["path"],
            "decodable": True,
            "error": None,
            "width": 64,
            "height": 48,
            **{c: float(i) / 10 for i, c in enumerate(FEATURE_COLUMNS)},
            "color_hist": [0.5, 0.5],
            "phash": None,
            "phash_int": phash_of(code),
        }
        f.update(feature_overrides.get(code, {}))
        features.append(f)
    return (
        pa.Table.from_pylist(posts, schema=POSTS_SCHEMA),
        pa.Table.from_pylist(media, schema=MEDIA_SCHEMA),
        pa.Table.from_pylist(features, schema=FEATURES_SCHEMA),
    )


def load(con: Any, tables: Mapping[str, pa.Table]) -> None:
    """Create DuckDB tables (posts, media, image_features, or any other) from Arrow."""
    for name, table in tables.items():
        con.register(f"_arrow_{name}", table)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _arrow_{name}")
        con.unregister(f"_arrow_{name}")


def write_lake(lake_dir: Path, posts: pa.Table, media: pa.Table, features: pa.Table) -> None:
    for name, table in (("posts", posts), ("media", media), ("image_features", features)):
        target = lake_dir / name / f"{name}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target)


def params(**settings: Any) -> dict[str, Any]:
    """The queries' $parameters for these settings (defaults otherwise), at NOW."""
    from picme.dataset.params import query_parameters
    from picme.settings import get_settings

    return query_parameters(get_settings(**settings), NOW)


def connect(
    posts: Iterable[Mapping[str, Any]] | None = None,
    profiles: Sequence[Mapping[str, Any]] = (),
    **lake_kw: Any,
) -> Any:
    """An in-memory DuckDB (set up as the build sets it) holding these posts, their media
    and image features, and the given profile snapshots."""
    from picme.dataset.sql import connect as sql_connect

    con = sql_connect(threads=1)
    p, m, f = lake_tables(posts or [], **lake_kw)
    prof = pa.Table.from_pylist(
        list(profiles),
        schema=pa.schema(
            [("username", pa.string()), ("observed_at", _TS), ("followers", pa.int64())]
        ),
    )
    load(con, {"posts": p, "media": m, "image_features": f, "profiles": prof})
    return con
