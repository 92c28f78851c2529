"""The logged network: pickled by reference to its import path
``picme.models.pyfunc.PicmePyfunc``, saved the way training logs it (the photo request), read
back by MLflow (its own serving input example included) and by the scorer; and a version
logged before the photo request (tensor signature) still loads and scores in picme."""

from __future__ import annotations

import io
import pickletools
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.models import infer_signature
from PIL import Image

from picme.features.decode import decode_bytes
from picme.models import build_model
from picme.models.preprocess import Preprocessing
from picme.models.pyfunc import PREPROCESSING, WEIGHTS, PicmePyfunc
from picme.models.serving import PHOTO, TENSORS, request_spec
from picme.scoring.model import ModelScorer, load_model_scorer
from picme.settings import get_settings
from picme.training.mlflow_log import pyfunc_model
from tests.trainingdata import torch_one_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SIZE = 16


def _pickle_strings(data: bytes) -> set[str]:
    """The string operands of a pickle: among them the module and class names of whatever
    it pickles by reference."""
    return {str(arg) for op, arg, _ in pickletools.genops(data) if isinstance(arg, str)}


def _network() -> tuple[object, Preprocessing]:
    prep = Preprocessing(
        "fusion", "bce", SIZE, ["hour", "log_followers", "sharpness"], ["sharpness"],
        [12.0, 8.0, 3.0], [4.0, 2.0, 1.0],
    )  # fmt: skip
    return build_model("fusion", image_size=SIZE, n_meta=prep.n_meta), prep


def _jpeg(seed: int, w: int = 40, h: int = 30) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def test_logged_network_takes_photos_and_loads_back(tmp_path: Path) -> None:
    from mlflow.pyfunc.scoring_server import _parse_json_data

    net, prep = _network()
    work = tmp_path / "work"
    work.mkdir()
    folder = tmp_path / "model"
    train_scores = np.linspace(-1.0, 1.0, 50)
    spec = pyfunc_model(net, prep, work, train_scores)  # type: ignore[arg-type]
    mlflow.pyfunc.save_model(str(folder), **request_spec(spec))

    flavor = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["python_function"]
    names = _pickle_strings((folder / flavor["python_model"]).read_bytes())
    assert "picme.models.pyfunc" in names and "PicmePyfunc" in names

    loaded = mlflow.pyfunc.load_model(str(folder))
    inner = loaded.unwrap_python_model()
    assert isinstance(inner, PicmePyfunc) and type(inner).__module__ == "picme.models.pyfunc"
    assert inner.prep == prep
    inputs = loaded.metadata.get_input_schema()
    assert inputs.required_input_names() == ["image"]
    assert {"taken_at", "followers", "hour", "log_followers"} <= set(inputs.optional_input_names())

    # The serving input example MLflow saved (base64 JSON) parses and scores as served.
    served = loaded.metadata.get_serving_input(str(folder))
    parsed = _parse_json_data(served, loaded.metadata, inputs)
    example = loaded.predict(parsed.data)
    assert example["status"].tolist() == ["ok"] and 0 <= example["percentile"][0] <= 100

    photos = [_jpeg(0), _jpeg(1, 64, 20)]
    request = pd.DataFrame(
        {"image": [*photos, b"\xff\xd8\xff broken"], "taken_at": ["2024-05-01T20:10:00Z"] * 3}
    )
    out = loaded.predict(request)
    assert out["status"][:2].tolist() == ["ok", "ok"]
    assert out["status"][2].startswith("cannot decode the image")

    scorer = load_model_scorer(str(folder), get_settings(home=tmp_path / "home"))
    assert isinstance(scorer, ModelScorer) and scorer.request_format == PHOTO
    assert scorer.version is None and "fusion" in scorer.name
    images = [decode_bytes(p, max_side=scorer.max_side).rgb for p in photos]
    expected = scorer.score_images(images, metadata=[{"hour": 20.0, "weekday": 2.0}] * 2)
    np.testing.assert_allclose(out["score"][:2].astype(float), expected, rtol=1e-6)
    memory = ModelScorer(net, prep, name="memory")  # type: ignore[arg-type]
    np.testing.assert_allclose(
        memory.score_images(images, metadata=[{"hour": 20.0}] * 2), expected, rtol=1e-6
    )
    percentile = scorer.percentile(expected)
    assert percentile is not None
    np.testing.assert_allclose(out["percentile"][:2].astype(float), percentile)


def test_a_network_logged_before_the_photo_request_still_scores(tmp_path: Path) -> None:
    """Logged the old way: images uint8 (-1, S, S, 3) and meta float32, no percentiles."""
    import torch

    net, prep = _network()
    weights = tmp_path / "weights.pt"
    torch.save(net.state_dict(), weights)  # type: ignore[attr-defined]
    prep_path = prep.save(tmp_path / "preprocessing.json")
    rng = np.random.default_rng(0)
    example = {
        "images": rng.integers(0, 256, (2, SIZE, SIZE, 3), dtype=np.uint8),
        "meta": np.asarray([prep.meta_mean] * 2, np.float32),
    }
    folder = tmp_path / "old-model"
    mlflow.pyfunc.save_model(
        str(folder),
        python_model=PicmePyfunc(),
        artifacts={WEIGHTS: str(weights), PREPROCESSING: str(prep_path)},
        signature=infer_signature(example, np.zeros(2)),
        input_example=example,
    )
    loaded = mlflow.pyfunc.load_model(str(folder))
    assert loaded.metadata.get_input_schema().input_names() == ["images", "meta"]

    scorer = load_model_scorer(str(folder), get_settings(home=tmp_path / "home"))
    assert isinstance(scorer, ModelScorer) and scorer.request_format == TENSORS
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    got = scorer.score_images([image], metadata=[{"hour": 20}])
    memory = ModelScorer(net, prep, name="memory")  # type: ignore[arg-type]
    expected = memory.score_images([image], metadata=[{"hour": 20}])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert scorer.percentile(got) is None
    batch, meta = scorer.prepare([image], metadata=[{"hour": 20}])
    direct = loaded.predict({"images": batch, "meta": meta})
    np.testing.assert_allclose(np.asarray(direct), got, rtol=1e-5, atol=1e-6)
