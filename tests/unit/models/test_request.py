"""The photo request: raw metadata to the training table's columns, the percentile table,
and a table of photos scored row by row (a broken row fails alone)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from picme.models.percentiles import PercentileTable
from picme.models.request import RowError, derive_metadata, request_fields, score_table
from picme.models.serving import COLUMNS, PHOTO, TENSORS, request_format, request_signature


def test_raw_fields_become_the_training_columns_as_the_sql_computes_them() -> None:
    md = derive_metadata(
        {
            "caption": "Sun @Ana and @bo.b at the lake #Sunset #travel",
            "taken_at": "2024-05-05T23:30:00-02:00",  # a Monday 01:30 in UTC
            "followers": 12_000,
            "n_images": 3,
            "location": "Lake",
            "tagged_users": "ana, bob",
            "is_sponsored": True,
        }
    )
    assert md["caption_len"] == 46.0 and md["n_hashtags"] == 2.0 and md["n_mentions"] == 2.0
    assert (md["hour"], md["weekday"]) == (1.0, 0.0)
    assert md["size_bucket"] == 2.0 and md["log_followers"] == pytest.approx(math.log1p(12_000))
    assert (md["n_images"], md["is_carousel"]) == (3.0, 1.0)
    assert md["has_location"] == 1.0 and md["n_tagged"] == 2.0 and md["is_sponsored"] == 1.0
    # A naive time is UTC; given hashtags win over the caption's; a column by name wins.
    md = derive_metadata({"taken_at": "2024-05-04 09:00", "caption": "x #a", "hashtags": "#a #b"})
    assert (md["hour"], md["weekday"], md["n_hashtags"]) == (9.0, 5.0, 2.0)
    assert derive_metadata({"followers": 500.0, "log_followers": 2.5})["log_followers"] == 2.5
    assert derive_metadata({"n_images": 0})["n_images"] == 1.0  # as sql/metadata.sql
    # What is not given stays unknown (neutral), including NaN and None.
    assert derive_metadata({"caption": None, "followers": float("nan"), "image": b"x"}) == {}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"taken_at": "yesterday-ish"}, "taken_at: cannot read"),
        ({"followers": "many"}, "followers: expected a number"),
        ({"followers": -3}, "followers: expected a count"),
        ({"hour": "noon"}, "hour: expected a number"),
        ({"followers": 10**400}, "followers: expected a number"),  # too large for a float
    ],
)
def test_unreadable_metadata_is_one_line_naming_the_field(row: dict, message: str) -> None:
    with pytest.raises(RowError, match=message) as err:
        derive_metadata(row)
    assert "\n" not in str(err.value)


def test_request_fields_follow_the_columns_the_model_reads() -> None:
    assert request_fields([]) == []
    fields = dict(request_fields(["hour", "sharpness", "log_followers"]))
    assert fields == {"taken_at": "string", "followers": "double", "hour": "double",
                      "log_followers": "double"}  # fmt: skip
    sig = request_signature(["caption_len"])
    assert sig.inputs.required_input_names() == ["image"]
    assert set(sig.inputs.optional_input_names()) == {"caption", "caption_len"}
    assert request_format(sig.inputs) == PHOTO


def test_request_format_tells_the_logged_forms_apart() -> None:
    from mlflow.types import ColSpec, DataType, Schema, TensorSpec

    tensors = Schema(
        [
            TensorSpec(np.dtype(np.uint8), (-1, 8, 8, 3), "images"),
            TensorSpec(np.dtype(np.float32), (-1, 2), "meta"),
        ]
    )
    assert request_format(tensors) == TENSORS
    assert request_format(Schema([ColSpec(DataType.double, "sharpness")])) == COLUMNS
    assert request_format(None) == COLUMNS


def test_percentiles_are_midranks_among_the_training_scores(tmp_path: Path) -> None:
    table = PercentileTable.from_scores(np.array([3.0, 1.0, 2.0, 2.0, np.nan]))
    assert table.values == (1.0, 2.0, 2.0, 3.0) and table.n == 4
    got = table.percentile(np.array([0.0, 1.0, 2.0, 2.5, 9.0, np.nan]))
    np.testing.assert_allclose(got[:5], [0.0, 12.5, 50.0, 75.0, 100.0])
    assert np.isnan(got[5])
    again = PercentileTable.load(table.save(tmp_path / "p.json"))
    assert again == table
    big = PercentileTable.from_scores(np.random.default_rng(0).normal(size=50_000), max_points=101)
    assert len(big.values) == 101 and big.n == 50_000
    assert abs(float(big.percentile(np.array([0.0]))[0]) - 50.0) < 1.0
    assert np.isnan(PercentileTable.from_scores(np.array([])).percentile(np.array([1.0]))[0])


def _png(color: tuple[int, int, int]) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 12), color).save(buf, format="PNG")
    return buf.getvalue()


def test_a_table_of_photos_is_scored_row_by_row() -> None:
    seen: list[tuple[tuple[int, ...], dict]] = []

    def score(images: list[np.ndarray], metadata: list[dict]) -> np.ndarray:
        seen.extend((im.shape, md) for im, md in zip(images, metadata, strict=True))
        if any(im[0, 0, 0] == 7 for im in images):
            raise RuntimeError("this photo breaks the model\nsecond line")
        return np.array([float(im[0, 0, 0]) for im in images])

    frame = pd.DataFrame(
        {
            "image": [_png((200, 0, 0)), b"not an image", _png((7, 7, 7)), None, _png((10, 0, 0))],
            "followers": [1000.0, None, None, None, "lots"],
        }
    )
    table = PercentileTable.from_scores(np.array([0.0, 100.0, 300.0]))
    out = score_table(frame, score, max_side=512, table=table)
    assert list(out.columns) == ["score", "percentile", "status"]
    assert out["status"].tolist()[0] == "ok" and out["score"][0] == 200.0
    assert out["percentile"][0] == pytest.approx(100 * 2 / 3)
    assert out["status"][1].startswith("cannot decode the image: not an image")
    assert out["status"][2] == "scoring failed: RuntimeError: this photo breaks the model"
    assert out["status"][3].startswith("image: missing")
    assert out["status"][4] == "followers: expected a number, got 'lots'"
    assert out["score"][1:].tolist() == [None] * 4 and out["percentile"][1:].tolist() == [None] * 4
    assert seen[0] == ((12, 20, 3), {"size_bucket": 1.0, "log_followers": math.log1p(1000)})
