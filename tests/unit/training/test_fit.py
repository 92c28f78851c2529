"""Every registered model with every registered loss runs a fast_dev_run on CPU; unknown
names are one-line errors before any data is read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from picme.errors import InputError
from picme.models import available_models, build_model
from picme.models.infer import predict_prepared
from picme.models.losses import available_losses
from picme.models.table import load_pairs_frame, load_training_frame
from picme.settings import Settings, get_settings
from picme.training.config import TrainConfig
from picme.training.fit import fit
from tests.trainingdata import make_training_data, torch_one_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("torch_one_thread")

# seed-cnn keeps the poster's 270 px here, with tiny batches; the others run small.
SIZES = {"seed-cnn": 270, "metadata": 32, "fusion": 32, "backbone": 32}


@pytest.fixture(scope="module")
def data_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("models") / "picme-data"
    make_training_data(home, n_accounts=5, posts=8, image_size=48, splits=(3, 1, 1))
    return get_settings(home=home, workers=1)


@pytest.mark.parametrize("loss", available_losses())
@pytest.mark.parametrize("model", available_models())
def test_fast_dev_run_every_model_with_every_loss(
    data_home: Settings, model: str, loss: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no cached weights to find
    frame, pairs = load_training_frame(data_home), load_pairs_frame(data_home)
    cfg = TrainConfig(
        model=model,
        loss=loss,
        image_size=SIZES[model],
        batch_size=2 if model == "seed-cnn" else 4,
        fast_dev_run=True,
        from_scratch=True,
        arch="resnet18" if model == "backbone" else None,
    )
    before = {
        k: v.detach().clone()
        for k, v in build_model(
            model, image_size=SIZES[model], n_meta=1, arch=cfg.arch, from_scratch=True
        )
        .state_dict()
        .items()
    }
    assert before  # every model has parameters
    trained = fit(cfg, data_home, frame, pairs)
    assert trained.trainer.global_step == 1
    test = trained.dm.splits["test"]
    s = SIZES[model]
    imgs = (
        test.images if test.images is not None else np.zeros((len(test.frame), s, s, 3), np.uint8)
    )
    scores = predict_prepared(trained.net, trained.prep, imgs, test.meta_raw)
    assert scores.shape == (len(test.frame),) and np.isfinite(scores).all()
    assert trained.prep.model == model and trained.prep.loss == loss
    assert trained.prep.image_size == s


def test_unknown_names_are_one_line_errors(data_home: Settings) -> None:
    frame = load_training_frame(data_home)
    with pytest.raises(InputError, match="unknown; choose one of"):
        fit(TrainConfig(model="nope"), data_home, frame)
    with pytest.raises(InputError, match="unknown loss"):
        fit(TrainConfig(model="fusion", loss="hinge"), data_home, frame)
    with pytest.raises(InputError, match="--arch"):
        fit(TrainConfig(model="fusion", arch="resnet18"), data_home, frame)
