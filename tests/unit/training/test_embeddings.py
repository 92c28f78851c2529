"""``picme train --model ranker --embeddings FILE``: the frozen backbone's columns join the
ranker's, the registered pyfunc carries the backbone's weights and projection, and the
scorer loaded from the registry scores raw images exactly as the ranker in memory does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from picme.errors import InputError
from picme.features.decode import decode_image
from picme.models.embed import Embedder
from picme.models.ranker import TabularRanker, embedding_columns
from picme.registry.tracking import client
from picme.scoring.model import load_model_scorer
from picme.scoring.ranker import RankerScorer
from picme.settings import get_settings
from picme.training.config import TrainConfig
from picme.training.run import check_model, train_and_register
from tests.trainingdata import (  # noqa: F401
    make_training_data,
    seed_tracking_store,
    torch_one_thread,
    write_resnet_checkpoint,
)

K = 4


@pytest.mark.slow
@pytest.mark.usefixtures("torch_one_thread")
def test_ranker_with_frozen_embeddings_registers_a_scorer_of_raw_images(tmp_path: Path) -> None:
    home = tmp_path / "picme-data"
    # No validation split: early stopping on one small account may keep a single tree, too
    # few for the importances to say anything; without it the ranker grows all its trees.
    data = make_training_data(home, n_accounts=6, posts=20, image_size=64, seed=4, splits=(4, 0, 2))
    settings = get_settings(home=home, workers=1)
    seed_tracking_store(home)
    checkpoint = write_resnet_checkpoint(tmp_path / "weights" / "resnet18-test.pth")
    cfg = TrainConfig(model="ranker", embeddings=str(checkpoint), embed_size=64, embed_components=K)
    result = train_and_register(cfg, settings)
    assert result.version == "1", result.summary()

    ranker, embedder = result.net, result.prep
    assert isinstance(ranker, TabularRanker) and isinstance(embedder, Embedder)
    assert ranker.columns[-K:] == embedding_columns(K)
    assert embedder.arch == "resnet18" and embedder.image_size == 64

    run = client(settings).get_run(result.run_id)
    assert run.data.params["embed_arch"] == "resnet18"
    imp = pd.read_csv(
        client(settings).download_artifacts(result.run_id, "feature_importances.csv", tmp_path)
    )
    emb = imp[imp["column"].str.startswith("emb_")]
    assert sorted(emb["column"]) == embedding_columns(K)
    assert emb["importance"].sum() > 0

    scorer = load_model_scorer("models:/picme-scorer/1", settings)
    assert isinstance(scorer, RankerScorer) and scorer.embedder is not None
    assert scorer.embedder.projection == embedder.projection
    test = data.frame[data.frame["split"] == "test"].head(8)
    images = [decode_image(p, max_side=scorer.max_side) for p in test["image_path"]]
    memory = RankerScorer(ranker, name="memory", embedder=embedder)
    got = scorer.score_images(images)
    assert np.isfinite(got).all() and np.ptp(got) > 0
    np.testing.assert_allclose(got, memory.score_images(images), rtol=1e-9)
    # The embedding columns came from the photos, not from the training means.
    frame = scorer.frame(images)
    assert not np.allclose(frame[embedder.columns].to_numpy(float), ranker.means[-K:])

    # auto: the candidates are cross-validated on the same frame, embedding columns included.
    auto = train_and_register(replace(cfg, model="auto", plots=False, register=False), settings)
    assert auto.selection is not None and auto.selection.best in ("ranker", "linear-pairwise")
    assert auto.net.columns[-K:] == embedding_columns(K)
    assert auto.prep.projection == embedder.projection


def test_embeddings_are_for_the_rankers_only() -> None:
    with pytest.raises(InputError, match="feeds the tabular rankers"):
        check_model(TrainConfig(model="seed-cnn", embeddings="resnet18.pth"))
    assert check_model(TrainConfig(embeddings="resnet18.pth")).model == "auto"
