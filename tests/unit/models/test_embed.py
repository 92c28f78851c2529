"""The frozen embedding backbone: loads a torchvision-format checkpoint the test writes
(nothing is downloaded), embeds deterministically, and its saved weights and projection
reproduce the ranker's columns; the ranker scorer computes them from the photo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from picme.errors import InputError
from picme.models.backbones import BUILTIN_ARCHS
from picme.models.embed import SPEC_FILE, WEIGHTS_FILE, Embedder, Projection, infer_arch
from picme.models.ranker import embedding_columns, embedding_columns_in, fit_lambdarank
from picme.scoring.ranker import RankerScorer
from tests.trainingdata import torch_one_thread, write_resnet_checkpoint  # noqa: F401

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SIZE = 64


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_resnet_checkpoint(tmp_path_factory.mktemp("ckpt") / "resnet18-test.pth")


def _images(n: int, size: int = SIZE, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        # Disks of varying size and colour: images that differ in more than noise.
        r = size * rng.uniform(0.1, 0.45)
        disk = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= r**2
        out[i] = rng.integers(0, 60, 3)
        out[i][disk] = rng.integers(120, 256, 3)
    return out


def test_builtin_architectures_are_recognised_by_their_tensors() -> None:
    for arch in ("resnet18", "resnet34", "resnet50"):
        assert infer_arch(BUILTIN_ARCHS[arch]().state_dict(), "test") == arch
    with pytest.raises(InputError, match="not a torchvision ResNet"):
        infer_arch({"features.0.weight": torch.zeros(1)}, "test")


def test_checkpoint_loads_frozen_and_embeds_deterministically(checkpoint: Path) -> None:
    embedder = Embedder.from_checkpoint(checkpoint, image_size=SIZE)
    assert embedder.arch == "resnet18" and embedder.dim == 512
    assert not embedder.net.training
    assert not any(p.requires_grad for p in embedder.net.parameters())
    state = torch.load(checkpoint, weights_only=True)
    np.testing.assert_array_equal(
        embedder.net.state_dict()["conv1.weight"].numpy(), state["conv1.weight"].numpy()
    )
    images = _images(5)
    raw = embedder.embed(images)
    assert raw.shape == (5, 512) and raw.dtype == np.float32 and np.isfinite(raw).all()
    np.testing.assert_array_equal(raw, embedder.embed(images))
    assert np.ptp(raw, axis=0).max() > 0  # the images are told apart
    # Another input size is square-resized to the embedding size first.
    assert embedder.embed(_images(2, size=80)).shape == (2, 512)


def test_a_checkpoint_that_does_not_fit_is_refused(tmp_path: Path, checkpoint: Path) -> None:
    state = torch.load(checkpoint, weights_only=True)
    del state["layer4.1.conv2.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(InputError, match="does not fit resnet18"):
        Embedder.from_checkpoint(tmp_path / "broken.pth", image_size=SIZE)
    with pytest.raises(InputError, match="no such file"):
        Embedder.from_checkpoint(tmp_path / "missing.pth")


def test_saved_weights_and_projection_reproduce_the_columns(
    tmp_path: Path, checkpoint: Path
) -> None:
    embedder = Embedder.from_checkpoint(checkpoint, image_size=SIZE)
    images = _images(12)
    raw = embedder.embed(images)
    projection = embedder.fit_projection(raw, k=4)
    assert projection.k == 4 and embedder.columns == embedding_columns(4)
    assert Projection.fit(raw, 4) == projection  # signs fixed: refitting gives the same
    columns = embedder.transform(images)
    assert columns.shape == (12, 4)
    np.testing.assert_allclose(columns.mean(axis=0), 0.0, atol=1e-6 * np.abs(columns).max())

    weights, spec = embedder.save(tmp_path / "embed")
    assert (weights.name, spec.name) == (WEIGHTS_FILE, SPEC_FILE)
    assert "fc.weight" not in torch.load(weights, weights_only=True)
    again = Embedder.load(weights, spec)
    assert (again.arch, again.image_size, again.projection) == ("resnet18", SIZE, projection)
    np.testing.assert_array_equal(again.transform(images), columns)


def test_projection_keeps_undecodable_rows_neutral() -> None:
    raw = np.random.default_rng(1).normal(size=(6, 8))
    raw[2] = np.nan
    projection = Projection.fit(raw, k=10)
    assert projection.k == 4  # five usable rows span four directions
    out = projection.apply(raw)
    assert np.isnan(out[2]).all() and np.isfinite(np.delete(out, 2, axis=0)).all()
    with pytest.raises(InputError, match="too few"):
        Projection.fit(raw[:1], k=2)


def test_embedding_columns_are_found_in_component_order() -> None:
    assert embedding_columns_in(["emb_10", "hour", "emb_2", "emb_x", "emb_0"]) == [
        "emb_0",
        "emb_2",
        "emb_10",
    ]


def test_ranker_scorer_computes_the_embedding_columns_from_the_photo(checkpoint: Path) -> None:
    embedder = Embedder.from_checkpoint(checkpoint, image_size=SIZE)
    images = _images(24, size=48)
    embedder.fit_projection(embedder.embed(images), k=3)
    columns = embedder.transform(images)
    frame = pd.DataFrame(columns, columns=embedder.columns)
    frame["owner_username"] = ["a", "b"] * 12
    frame["log_likes"] = columns[:, 0]
    ranker = fit_lambdarank(frame, embedder.columns, n_estimators=20)
    scorer = RankerScorer(ranker, name="test", embedder=embedder)
    got = scorer.frame(list(images[:4]))
    np.testing.assert_allclose(got[embedder.columns].to_numpy(), columns[:4], rtol=1e-5)
    np.testing.assert_allclose(
        scorer.score_images(list(images[:4])), ranker.predict(frame.iloc[:4]), rtol=1e-9
    )
    # Columns the caller gives are used as given; only the missing ones are computed.
    given = [dict(zip(embedder.columns, [9.0, 9.0, 9.0], strict=True)), None]
    mixed = scorer.frame(list(images[:2]), features=given)
    assert mixed.loc[0, embedder.columns].tolist() == [9.0, 9.0, 9.0]
    # A batch of one may round differently from a batch of 24 in the last float bits.
    np.testing.assert_allclose(
        mixed.loc[1, embedder.columns].to_numpy(float), columns[1], rtol=1e-5
    )


@pytest.mark.slow  # a fresh interpreter importing mlflow: about 13 s on 2 shared cores
def test_a_ranker_logged_without_embeddings_loads_without_torch(tmp_path: Path) -> None:
    """The scorer's light path: a ranker without embedding artifacts loads and scores as
    before, with no embedder and torch never imported."""
    import mlflow.pyfunc

    from picme.models.ranker_pyfunc import RANKER, PicmeRankerPyfunc

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"sharpness": rng.normal(size=40), "owner_username": ["a", "b"] * 20})
    frame["log_likes"] = frame["sharpness"] + rng.normal(0, 0.1, 40)
    spec = tmp_path / "ranker.json"
    spec.write_text(fit_lambdarank(frame, ["sharpness"], n_estimators=10).to_json())
    folder = tmp_path / "model"
    mlflow.pyfunc.save_model(
        str(folder), python_model=PicmeRankerPyfunc(), artifacts={RANKER: str(spec)}
    )
    code = (
        "import sys, numpy as np\n"
        "from picme.scoring.model import load_model_scorer\n"
        "from picme.settings import get_settings\n"
        f"s = load_model_scorer({str(folder)!r}, get_settings(home={str(tmp_path / 'h')!r}))\n"
        "img = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)\n"
        "assert s.embedder is None and np.isfinite(s.score_images([img])).all()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
