"""The logged ranker takes photos (and metadata by name) and returns score, percentile and
status, equal to the in-process scorer's; a ranker logged before the photo request (its
columns as the signature) still loads, scores in picme and reads its columns."""

from __future__ import annotations

import io
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from PIL import Image

from picme.features.decode import decode_bytes
from picme.features.extractors import FEATURE_COLUMNS
from picme.models.ranker import HEURISTIC, TabularRanker, fit_linear_pairwise
from picme.models.ranker_pyfunc import RANKER, PicmeRankerPyfunc
from picme.models.serving import COLUMNS, PHOTO, REFERENCE_SCORES, request_spec
from picme.scoring.model import load_model_scorer
from picme.scoring.ranker import RankerScorer
from picme.settings import get_settings

META = ["hour", "caption_len", "log_followers"]


def _ranker() -> tuple[TabularRanker, pd.DataFrame]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.normal(size=60) for c in [*FEATURE_COLUMNS, *META]})
    frame["owner_username"] = ["a", "b", "c"] * 20
    frame["log_likes"] = frame["sharpness"] + frame["caption_len"] + rng.normal(0, 0.1, 60)
    return fit_linear_pairwise(frame, [*META, *FEATURE_COLUMNS, HEURISTIC]), frame


def _photo(seed: int, fmt: str = "JPEG") -> bytes:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (36, 48, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt)
    return buf.getvalue()


def test_logged_ranker_takes_photos_and_metadata(tmp_path: Path) -> None:
    ranker, frame = _ranker()
    spec = tmp_path / "work" / "ranker.json"
    spec.parent.mkdir()
    spec.write_text(ranker.to_json())
    folder = tmp_path / "model"
    train_scores = ranker.predict(frame)
    mlflow.pyfunc.save_model(
        str(folder),
        **request_spec(
            {
                "python_model": PicmeRankerPyfunc(),
                "artifacts": {RANKER: str(spec)},
                REFERENCE_SCORES: train_scores,
            }
        ),
    )
    loaded = mlflow.pyfunc.load_model(str(folder))
    names = loaded.metadata.get_input_schema().input_names()
    assert names[0] == "image" and {"caption", "taken_at", "followers", *META} <= set(names)
    photos = [_photo(0), _photo(1, "PNG"), _photo(0)]
    request = pd.DataFrame(
        {
            "image": [*photos, b"GIF89a broken"],
            "caption": [None, "A day out #sun", "A day out #sun", None],
            "followers": [None, 2500.0, 2500.0, None],
        }
    )
    out = loaded.predict(request)
    assert out["status"][:3].tolist() == ["ok"] * 3 and out["status"][3].startswith("cannot decode")
    # Metadata moves the score: the same photo with and without a caption.
    assert out["score"][0] != out["score"][2]

    scorer = load_model_scorer(str(folder), get_settings(home=tmp_path / "home"))
    assert isinstance(scorer, RankerScorer) and scorer.request_format == PHOTO
    images = [decode_bytes(p, max_side=scorer.max_side).rgb for p in photos]
    md = [None, {"caption_len": 14.0, "log_followers": float(np.log1p(2500))}] + [None]
    md[2] = md[1]
    expected = scorer.score_images(images, metadata=md)
    np.testing.assert_allclose(out["score"][:3].astype(float), expected, rtol=1e-9)
    np.testing.assert_allclose(out["percentile"][:3].astype(float), scorer.percentile(expected))
    # The percentile of a training photo's own score is its rank among them.
    top = scorer.percentile(np.array([train_scores.max(), train_scores.min()]))
    assert top is not None and top[0] > 99 and top[1] < 1


def test_a_ranker_logged_before_the_photo_request_still_scores(tmp_path: Path) -> None:
    ranker, frame = _ranker()
    spec = tmp_path / "ranker.json"
    spec.write_text(ranker.to_json())
    example = pd.DataFrame([dict(zip(ranker.columns, ranker.means, strict=True))] * 2)
    folder = tmp_path / "old-model"
    mlflow.pyfunc.save_model(
        str(folder),
        python_model=PicmeRankerPyfunc(),
        artifacts={RANKER: str(spec)},
        signature=infer_signature(example, ranker.predict(example)),
        input_example=example,
    )
    scorer = load_model_scorer(str(folder), get_settings(home=tmp_path / "home"))
    assert isinstance(scorer, RankerScorer) and scorer.request_format == COLUMNS
    assert scorer.percentile(np.zeros(1)) is None
    image = decode_bytes(_photo(3)).rgb
    memory = RankerScorer(ranker, name="memory")
    np.testing.assert_allclose(scorer.score_images([image]), memory.score_images([image]))
    rows = frame.assign(heuristic_quality=0.5)[ranker.columns].head(5)
    got = mlflow.pyfunc.load_model(str(folder)).predict(rows)
    np.testing.assert_allclose(np.asarray(got), ranker.predict(rows), rtol=1e-9)
