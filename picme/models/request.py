"""A scoring request as a table, turned into what the models read; shared by the logged
models (``picme.models.pyfunc``, ``picme.models.ranker_pyfunc``) and the in-process scorers
(``picme.scoring``), so a served model and ``load_scorer`` compute the same score.

A request has one row per photo: ``image``, the encoded file (bytes; base64 text in a JSON
request, which MLflow's scoring server decodes), and optional metadata by name. Raw fields
(:data:`RAW_FIELDS`: caption, hashtags, taken_at, followers, ...) are turned into the
training table's ``METADATA_COLUMNS`` as ``sql/metadata.sql`` computes them; a metadata
column given by its own name (``hour``, ``log_followers``, ...) is used as given. What a row
does not give stays unknown, which the models read as the training mean (neutral), as for an
album photo. A row whose image does not decode or whose metadata cannot be read gets a one-line
status instead of a score; the other rows are scored.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from picme.dataset.contract import METADATA_COLUMNS
from picme.features.decode import ImageDecodeError, decode_bytes
from picme.features.extractors import features_from_array
from picme.models.preprocess import Preprocessing, square_resize

if TYPE_CHECKING:
    from picme.models.embed import Embedder
    from picme.models.percentiles import PercentileTable
    from picme.models.ranker import TabularRanker

IMAGE = "image"
OK = "ok"
#: What a logged model takes, from its signature (``picme.models.serving.request_format``).
PHOTO = "photo"  # image bytes and metadata by name (this module)
TENSORS = "tensors"  # a network logged before: images and meta arrays
COLUMNS = "columns"  # a ranker logged before: its table columns by name
#: The request's raw metadata fields (MLflow type names) and the metadata columns each feeds.
RAW_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "caption": ("string", ("caption_len", "n_hashtags", "n_mentions")),
    "hashtags": ("string", ("n_hashtags",)),
    "mentions": ("string", ("n_mentions",)),
    "tagged_users": ("string", ("n_tagged",)),
    "taken_at": ("string", ("hour", "weekday")),
    "location": ("string", ("has_location",)),
    "followers": ("double", ("size_bucket", "log_followers")),
    "n_images": ("double", ("n_images", "is_carousel")),
    "is_sponsored": ("double", ("is_sponsored",)),
}
OUTPUT_COLUMNS = ("score", "percentile", "status")

# instaloader 4.16's caption_hashtags / caption_mentions expressions (on the lowercased
# caption): the lake's hashtags and mentions, which the training counts, come from them.
_HASHTAG = re.compile(r"(?:#)((?:\w){1,150})")
_MENTION = re.compile(r"(?:^|\W|_)(?:@)(\w(?:(?:\w|(?:\.(?!\.))){0,28}(?:\w))?)", re.ASCII)
_SIZE_BUCKETS = (1_000, 10_000, 100_000, 1_000_000)


class RowError(ValueError):
    """One row of a request that cannot be scored; the message is the row's status."""


def decode_side(image_size: int = 0) -> int:
    """The side photos are decoded at: the training table's image features were computed
    at 512 px (the features stage's default), and a network needs its input size."""
    return max(512, image_size)


def request_fields(meta_columns: Sequence[str]) -> list[tuple[str, str]]:
    """The optional (name, MLflow type) fields of a model reading ``meta_columns``: the raw
    fields that feed them, then the metadata columns themselves."""
    used = [c for c in METADATA_COLUMNS if c in set(meta_columns)]
    raw = [(f, t) for f, (t, feeds) in RAW_FIELDS.items() if set(feeds) & set(used)]
    return raw + [(c, "double") for c in used if c not in {f for f, _ in raw}]


def _given(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def _number(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise RowError(f"{name}: expected a number, got {str(value)[:40]!r}") from None
    if not math.isfinite(x):
        raise RowError(f"{name}: expected a finite number, got {value!r}")
    return x


def _count(value: Any) -> int:
    """Items of a list, or of a text separated by spaces or commas ('#' and '@' optional)."""
    items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if items is None:
        items = re.split(r"[\s,]+", str(value))
    return sum(1 for v in items if str(v).strip().lstrip("#@"))


def _when(value: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise RowError(
            f"taken_at: cannot read {str(value)[:40]!r} as a date and time "
            "(ISO 8601, e.g. 2024-05-01T18:30:00Z; UTC when no offset is given)"
        )
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def derive_metadata(row: Mapping[str, Any]) -> dict[str, float]:
    """The metadata columns a request row gives (see the module doc); raises RowError."""
    out: dict[str, float] = {}
    caption = row.get("caption")
    if _given(caption):
        text = str(caption)
        out["caption_len"] = float(len(text))
        out["n_hashtags"] = float(len(_HASHTAG.findall(text.lower())))
        out["n_mentions"] = float(len(_MENTION.findall(text.lower())))
    for name, column in (("hashtags", "n_hashtags"), ("mentions", "n_mentions")):
        if _given(row.get(name)):
            out[column] = float(_count(row[name]))
    if _given(row.get("tagged_users")):
        out["n_tagged"] = float(_count(row["tagged_users"]))
    if _given(row.get("taken_at")):
        ts = _when(row["taken_at"])
        out["hour"], out["weekday"] = float(ts.hour), float(ts.weekday())
    if _given(row.get("location")):
        out["has_location"] = float(bool(str(row["location"]).strip()))
    if _given(row.get("followers")):
        followers = _number("followers", row["followers"])
        if followers < 0:
            raise RowError(f"followers: expected a count >= 0, got {followers:g}")
        out["size_bucket"] = float(sum(followers >= b for b in _SIZE_BUCKETS))
        out["log_followers"] = math.log1p(followers)
    if _given(row.get("n_images")):
        n = max(_number("n_images", row["n_images"]), 1.0)
        out["n_images"], out["is_carousel"] = n, float(n > 1)
    if _given(row.get("is_sponsored")):
        out["is_sponsored"] = float(bool(_number("is_sponsored", row["is_sponsored"])))
    for column in METADATA_COLUMNS:
        # n_images and is_sponsored are raw fields too, read above with the SQL's rules.
        if column not in RAW_FIELDS and _given(row.get(column)):
            out[column] = _number(column, row[column])
    return out


def image_bytes(value: Any) -> bytes:
    """The encoded photo of a row: bytes as given, or base64 text (a JSON example loaded
    without MLflow's casting)."""
    if isinstance(value, (bytes, bytearray, memoryview, np.bytes_)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=False)
        except ValueError:
            raise RowError("image: text that is not base64") from None
    if not _given(value):
        raise RowError("image: missing (give the encoded photo: bytes, or base64 in JSON)")
    raise RowError(f"image: expected the encoded photo as bytes, got {type(value).__name__}")


def decode_row(value: Any, max_side: int) -> np.ndarray:
    """Upright RGB pixels of a row's photo, through picme's decoder; raises RowError."""
    try:
        return decode_bytes(image_bytes(value), max_side=max_side, name="image").rgb
    except ImageDecodeError as exc:
        raise RowError(f"cannot decode the image: {exc.reason}") from None


def network_inputs(
    prep: Preprocessing,
    images: Sequence[np.ndarray],
    metadata: Sequence[Mapping[str, Any] | None],
    features: Sequence[Mapping[str, Any] | None],
) -> tuple[np.ndarray, np.ndarray]:
    """A network's (square uint8 images, raw metadata) for checked RGB images; the image
    feature columns it reads are computed from the pixels unless given."""
    n, s = len(images), prep.image_size
    needs_features = bool(set(prep.feature_columns) & set(prep.meta_columns))
    ft = list(features)
    batch = np.empty((n, s, s, 3), np.uint8)
    for i, image in enumerate(images):
        batch[i] = square_resize(image, s)
        if ft[i] is None and needs_features:
            ft[i] = features_from_array(image)
    return batch, prep.raw_meta(n, metadata, ft)


def ranker_frame(
    ranker: TabularRanker,
    embedder: Embedder | None,
    images: Sequence[np.ndarray],
    metadata: Sequence[Mapping[str, Any] | None],
    features: Sequence[Mapping[str, Any] | None],
) -> pd.DataFrame:
    """A ranker's table: image features from the pixels unless given, metadata as given
    (a missing column is the ranker's training mean), embedding columns from the embedder."""
    rows = []
    for i, image in enumerate(images):
        f = features[i]
        if f is None:
            f = features_from_array(image)
        row = {c: f[c] for c in ranker.columns if c in f}
        row.update({c: v for c, v in (metadata[i] or {}).items() if c in ranker.columns})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=ranker.columns)
    if embedder is not None:
        _embed_missing(embedder, frame, images)
    return frame


def _embed_missing(embedder: Embedder, frame: pd.DataFrame, images: Sequence[np.ndarray]) -> None:
    """Fill the embedding columns the caller did not give, from the photos."""
    cols = embedder.columns
    numeric = frame[cols].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    todo = [int(i) for i in np.flatnonzero(numeric.isna().any(axis=1).to_numpy())]
    if todo:
        s = embedder.image_size
        batch = np.stack([square_resize(images[i], s) for i in todo])
        numeric.iloc[todo] = embedder.transform(batch)
    frame[cols] = numeric


ScoreFn = Callable[[list[np.ndarray], list[dict[str, float]]], np.ndarray]


@dataclass
class _Rows:
    images: list[np.ndarray]
    metadata: list[dict[str, float]]
    index: list[int]


def score_table(
    frame: pd.DataFrame, score: ScoreFn, *, max_side: int, table: PercentileTable | None
) -> pd.DataFrame:
    """The answer to a request: per row ``score``, ``percentile`` (None where the row
    failed) and ``status`` (``ok`` or one line saying why the row has no score)."""
    n = len(frame)
    status = [OK] * n
    rows = _Rows([], [], [])
    for i, row in enumerate(frame.to_dict("records")):
        try:
            image = decode_row(row.get(IMAGE), max_side)
            meta = derive_metadata(row)
        except RowError as exc:
            status[i] = str(exc)
            continue
        rows.images.append(image)
        rows.metadata.append(meta)
        rows.index.append(i)
    scores = np.full(n, np.nan)
    scores[rows.index] = _score_rows(rows, score, status)
    pct = table.percentile(scores) if table is not None else np.full(n, np.nan)
    # None rather than NaN where a row failed: the scoring server writes NaN into its JSON
    # answer, which JSON parsers reject, and null is what JSON has for "no value".
    return pd.DataFrame(
        {"score": _or_none(scores), "percentile": _or_none(pct), "status": status},
        columns=list(OUTPUT_COLUMNS),
    )


def _or_none(values: np.ndarray) -> pd.Series:
    return pd.Series([float(v) if np.isfinite(v) else None for v in values], dtype=object)


def _score_rows(rows: _Rows, score: ScoreFn, status: list[str]) -> np.ndarray:
    """All rows in one batch; if that fails, row by row, so one bad row fails alone."""
    if not rows.images:
        return np.zeros(0)
    try:
        return np.asarray(score(rows.images, rows.metadata), np.float64)
    except Exception:  # noqa: BLE001 - which row failed is found below
        pass
    out = np.full(len(rows.images), np.nan)
    for k, (image, meta) in enumerate(zip(rows.images, rows.metadata, strict=True)):
        try:
            out[k] = float(np.asarray(score([image], [meta]), np.float64)[0])
        except Exception as exc:  # one photo the model cannot score fails its row only
            line = str(exc).splitlines()[0] if str(exc) else ""
            status[rows.index[k]] = f"scoring failed: {type(exc).__name__}: {line}"[:300]
    return out
