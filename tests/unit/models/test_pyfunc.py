"""Models logged before keep loading: the pyfunc is pickled by reference to its import path
``picme.models.pyfunc.PicmePyfunc``, saved the way training logs it, loaded back by MLflow
and by the scorer."""

from __future__ import annotations

import pickletools
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
import yaml

from picme.models import build_model
from picme.models.preprocess import Preprocessing
from picme.models.pyfunc import PicmePyfunc
from picme.scoring.model import ModelScorer, load_model_scorer
from picme.settings import get_settings
from picme.training.mlflow_log import pyfunc_model
from tests.trainingdata import torch_one_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _pickle_strings(data: bytes) -> set[str]:
    """The string operands of a pickle: among them the module and class names of whatever
    it pickles by reference."""
    return {str(arg) for op, arg, _ in pickletools.genops(data) if isinstance(arg, str)}


def test_logged_pyfunc_pickles_by_import_path_and_loads_back(tmp_path: Path) -> None:
    size = 16
    prep = Preprocessing(
        "fusion", "bce", size, ["hour", "sharpness"], ["sharpness"], [12.0, 3.0], [4.0, 1.0]
    )
    net = build_model("fusion", image_size=size, n_meta=prep.n_meta)
    work = tmp_path / "work"
    work.mkdir()
    folder = tmp_path / "model"
    mlflow.pyfunc.save_model(str(folder), **pyfunc_model(net, prep, work))

    flavor = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["python_function"]
    pickled = (folder / flavor["python_model"]).read_bytes()
    names = _pickle_strings(pickled)
    assert "picme.models.pyfunc" in names and "PicmePyfunc" in names

    loaded = mlflow.pyfunc.load_model(str(folder))
    inner = loaded.unwrap_python_model()
    assert isinstance(inner, PicmePyfunc) and type(inner).__module__ == "picme.models.pyfunc"
    assert inner.prep == prep

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    scorer = load_model_scorer(str(folder), get_settings(home=tmp_path / "home"))
    assert scorer.version is None and "fusion" in scorer.name
    memory = ModelScorer(net, prep, name="memory")
    got = scorer.score_images([image], metadata=[{"hour": 20}])
    np.testing.assert_allclose(
        got, memory.score_images([image], metadata=[{"hour": 20}]), rtol=1e-5, atol=1e-6
    )
    batch, meta = scorer.prepare([image], metadata=[{"hour": 20}])
    direct = loaded.predict({"images": batch, "meta": meta})
    np.testing.assert_allclose(np.asarray(direct), got, rtol=1e-5, atol=1e-6)
