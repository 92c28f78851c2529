"""Saliency maps of the trained-model scorer: the image's size, zero outside the square
the model sees, none for a metadata-only model."""

from __future__ import annotations

import numpy as np
import pytest

from picme.models import build_model
from picme.models.preprocess import Preprocessing
from picme.scoring.saliency import saliency_map
from tests.trainingdata import torch_one_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("model", ["seed-cnn", "fusion", "metadata"])
def test_saliency_has_the_image_size(model: str) -> None:
    import torch

    # Random weights: a fixed draw, so the map does not depend on which tests ran before.
    torch.manual_seed(0)
    size = 64
    prep = Preprocessing(model, "bce", size, ["a", "b"], ["b"], [0.0, 0.0], [1.0, 1.0])
    net = build_model(model, image_size=size, n_meta=2)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (90, 150, 3), dtype=np.uint8)
    sal = saliency_map(net, prep, image)
    if model == "metadata":
        assert sal is None
        return
    assert sal is not None
    assert sal.shape == (90, 150) and sal.dtype == np.float32
    assert float(sal.min()) >= 0.0 and float(sal.max()) <= 1.0
    # Outside the centre square the model sees nothing, so the map is zero there.
    assert float(sal[:, :30].max()) == 0.0 and float(sal[:, 120:].max()) == 0.0
    assert float(sal[:, 30:120].max()) > 0.0
