"""The champion served the way MLflow users serve a model: ``mlflow models serve -m
models:/picme-scorer@champion --env-manager local`` on 127.0.0.1, answering JSON requests
with base64 photos (a JPEG, a PNG, a broken file, and a photo with metadata) with the same
score and percentile as the in-process scorer and a per-row status."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.mlflowserve import b64, invoke, register_champion, served

pytestmark = [pytest.mark.slow, pytest.mark.server]


def test_served_champion_scores_photos_from_their_bytes(
    tmp_path: Path, image_fixtures: dict[str, Path]
) -> None:
    from picme.features.decode import decode_image
    from picme.models.request import derive_metadata
    from picme.scoring.api import load_scorer

    settings = register_champion(tmp_path / "home")
    jpeg, png = image_fixtures["ok"].read_bytes(), image_fixtures["ok_png"].read_bytes()
    rotated = image_fixtures["exif_rotated"].read_bytes()
    broken = image_fixtures["truncated"].read_bytes()
    meta = {"caption": "Evening swim #lake #summer", "taken_at": "2024-07-01T19:45:00+02:00",
            "followers": 15400}  # fmt: skip

    with served(settings, tmp_path / "serve.log") as url:
        split = invoke(
            url,
            {"dataframe_split": {"columns": ["image"],
                                 "data": [[b64(jpeg)], [b64(png)], [b64(broken)], [b64(rotated)]]}},
        )["predictions"]  # fmt: skip
        records = invoke(
            url, {"dataframe_records": [{"image": b64(jpeg), **meta}, {"image": b64(jpeg)}]}
        )["predictions"]
        # What MLflow cannot cast to the signature fails the request, with a 400 saying why.
        with pytest.raises(RuntimeError, match="HTTP 400.*image"):
            invoke(url, {"dataframe_records": [{"image": b64(jpeg)}, {"caption": "no photo"}]})

    assert [r["status"] for r in split[:2]] == ["ok", "ok"] and split[3]["status"] == "ok"
    assert split[2]["status"].startswith("cannot decode the image: file is truncated")
    assert split[2]["score"] is None and split[2]["percentile"] is None
    for row in [*split[:2], split[3], *records]:
        assert isinstance(row["score"], float) and 0.0 <= row["percentile"] <= 100.0

    # The in-process scorer, decoding the same files with picme's decoder, agrees.
    scorer = load_scorer(f"models:/{settings.model_name}@champion", settings)
    files = [image_fixtures[k] for k in ("ok", "ok_png", "exif_rotated")]
    images = [decode_image(f, max_side=scorer.max_side) for f in files]
    expected = scorer.score_images(images)
    got = [split[0]["score"], split[1]["score"], split[3]["score"]]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    percentile = scorer.percentile(expected)  # type: ignore[attr-defined]
    np.testing.assert_allclose([split[i]["percentile"] for i in (0, 1, 3)], percentile)

    # Metadata by name is used: same photo, with and without it, as the scorer computes it.
    with_meta = scorer.score_images(images[:1], metadata=[derive_metadata(meta)])
    assert records[0]["score"] == pytest.approx(float(with_meta[0]), rel=1e-9)
    assert records[1]["score"] == pytest.approx(float(expected[0]), rel=1e-9)
    assert records[0]["score"] != records[1]["score"]
