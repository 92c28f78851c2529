"""The scorer loader, the heuristic scorer and its sharpness map."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from picme.errors import InputError
from picme.scoring.api import champion_uri, load_scorer
from picme.scoring.heuristic import HeuristicScorer, sharpness_map
from picme.settings import get_settings


def _photo(seed: int, blur: bool = False, h: int = 80, w: int = 120) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    img[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] = (230, 40, 40)
    if blur:
        img = cv2.GaussianBlur(img, (15, 15), 6)
    return img


def test_heuristic_scorer_matches_imagefeat_and_uses_given_features() -> None:
    extractors = pytest.importorskip("picme.features.extractors")
    from picme.features.heuristic import heuristic_quality

    scorer = load_scorer("heuristic", get_settings())
    assert isinstance(scorer, HeuristicScorer)
    assert scorer.name == "heuristic" and scorer.version is None and scorer.max_side > 0
    images = [_photo(0), _photo(1, blur=True)]
    scores = scorer.score_images(images)
    expected = [heuristic_quality(extractors.features_from_array(im)) for im in images]
    np.testing.assert_allclose(scores, expected, rtol=1e-9)
    assert np.all((scores >= 0) & (scores <= 1))
    # Given features are used as they are, not recomputed from the pixels.
    feats = [extractors.features_from_array(images[1]), extractors.features_from_array(images[0])]
    swapped = scorer.score_images(images, features=feats)
    np.testing.assert_allclose(swapped, scores[::-1], rtol=1e-9)


def test_heuristic_rejects_bad_inputs_with_one_line() -> None:
    pytest.importorskip("picme.features.extractors")
    scorer = HeuristicScorer()
    with pytest.raises(InputError, match="image 0"):
        scorer.score_images([np.zeros((4, 4), np.uint8)])
    with pytest.raises(InputError, match="features"):
        scorer.score_images([_photo(0)], features=[None, None])


def test_sharpness_saliency_has_image_size_and_finds_the_sharp_part() -> None:
    import cv2

    img = cv2.GaussianBlur(_photo(3, h=64, w=96), (21, 21), 8)
    img[:, 48:] = _photo(4, h=64, w=48)  # right half sharp noise
    sal = HeuristicScorer().saliency(img)
    assert sal is not None and sal.shape == (64, 96) and sal.dtype == np.float32
    assert sal.min() >= 0.0 and sal.max() <= 1.0
    assert sal[:, 56:].mean() > 2 * sal[:, :40].mean()
    assert sharpness_map(np.zeros((8, 8, 3), np.uint8)).max() == 0.0


def test_default_scorer_is_heuristic_without_champion(picme_home: Path) -> None:
    settings = get_settings()
    assert champion_uri(settings) is None
    assert load_scorer(None, settings).name == "heuristic"
    # Asking for the champion must not create a tracking database as a side effect.
    assert not (picme_home / "mlflow.db").exists()


def test_bad_model_uri_is_one_line_input_error(picme_home: Path) -> None:
    with pytest.raises(InputError, match="cannot load model"):
        load_scorer(str(picme_home / "no-such-model"), get_settings())


def test_scorer_module_stays_light() -> None:
    code = (
        "import sys, picme.scoring.api; "
        "bad = [m for m in ('torch', 'lightning', 'mlflow') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
