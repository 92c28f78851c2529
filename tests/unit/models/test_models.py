"""The model registry, the backbone's weight handling, the decoded cache, preprocessing,
and the GPU benchmark script."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from picme.errors import InputError
from picme.models import available_models, build_model
from picme.models.backbones import BUILTIN_ARCHS, ResNet
from picme.models.cache import DecodedCache
from picme.models.losses import available_losses
from picme.models.preprocess import Preprocessing, square_resize
from tests.trainingdata import torch_one_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_registries_have_the_issue_names() -> None:
    assert set(available_models()) >= {"seed-cnn", "metadata", "fusion", "backbone"}
    assert set(available_losses()) >= {"bce", "mse", "cosine", "pairwise"}


def test_backbone_without_weights_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(InputError, match="--from-scratch"):
        build_model("backbone", image_size=32, n_meta=0, arch="resnet18")
    with pytest.raises(InputError, match="not built in"):
        build_model("backbone", image_size=32, n_meta=0, arch="no-such-net", from_scratch=True)


def test_backbone_loads_torchvision_style_checkpoints(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    src = BUILTIN_ARCHS["resnet18"]()
    state = {k: v for k, v in src.state_dict().items()}
    # torchvision checkpoints carry the classifier; it must be ignored, not rejected.
    state["fc.weight"] = torch.zeros(1000, 512)
    state["fc.bias"] = torch.zeros(1000)
    ckpt = tmp_path / "resnet18-test.pth"
    torch.save(state, ckpt)
    net = build_model("backbone", image_size=32, n_meta=3, arch="resnet18", weights=str(ckpt))
    enc = net.body.encoder
    assert isinstance(enc, ResNet)
    torch.testing.assert_close(enc.conv1.weight, src.conv1.weight)
    # The same file found in the torch hub cache, without --weights.
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "resnet18-f37072fd.pth").write_bytes(ckpt.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    net2 = build_model("backbone", image_size=32, n_meta=0, arch="resnet18")
    torch.testing.assert_close(net2.body.encoder.conv1.weight, src.conv1.weight)
    with pytest.raises(InputError, match="does not fit resnet34"):
        build_model("backbone", image_size=32, n_meta=0, arch="resnet34", weights=str(ckpt))


def test_decoded_cache_decodes_once_and_reports_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "a.jpg"
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(good)
    bad = tmp_path / "b.jpg"
    bad.write_bytes(b"not an image")
    cache = DecodedCache(tmp_path / "cache", 24)
    arr, reasons = cache.load([str(good), str(bad)], ["a" * 64, "b" * 64])
    assert arr.shape == (2, 24, 24, 3) and arr.dtype == np.uint8
    assert reasons[0] is None and reasons[1] is not None
    assert abs(int(arr[0].mean()) - 200) <= 2
    entry = cache.path_for("a" * 64)
    assert entry.exists()
    good.unlink()  # the cached copy is used without the source file
    arr2, reasons2 = cache.load([str(good)], ["a" * 64])
    assert reasons2 == [None] and np.array_equal(arr2[0], arr[0])


def test_square_resize_keeps_the_centre() -> None:
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, 50:150] = 255
    out = square_resize(img, 50)
    assert out.shape == (50, 50, 3)
    assert out.min() == 255  # the centre square is all white


def test_preprocessing_neutral_metadata_and_roundtrip(tmp_path: Path) -> None:
    prep = Preprocessing(
        "fusion", "bce", 32, ["hour", "sharpness"], ["sharpness"], [10.0, 4.0], [2.0, 1.0]
    )
    raw = prep.raw_meta(2, [{"hour": 14}, None], [{"sharpness": 6.0}, {"sharpness": 4.0}])
    np.testing.assert_allclose(prep.standardize(raw), [[2.0, 2.0], [0.0, 0.0]])
    again = Preprocessing.load(prep.save(tmp_path / "p.json"))
    assert again == prep


BENCH = Path(__file__).resolve().parents[3] / "bench"


def _run_gpu_bench(args: list[str], monkeypatch: pytest.MonkeyPatch) -> dict:
    out = Path(args[args.index("--out") + 1])
    monkeypatch.setattr(sys, "argv", ["gpu_bench.py", *args])
    runpy.run_path(str(BENCH / "gpu_bench.py"), run_name="__main__")
    report: dict = json.loads(out.read_text())
    assert set(report["models"]) == {"seed-cnn", "resnet50 backbone"}
    for r in report["models"].values():
        assert r["plain_images_per_s"] > 0 and r["lightning_images_per_s"] > 0
    return report


@pytest.mark.slow
def test_gpu_bench_smoke_runs_on_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = _run_gpu_bench(["--smoke", "--out", str(tmp_path / "g.json")], monkeypatch)
    assert report["models"]["seed-cnn"]["input"] == 32


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_bench_bf16(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["--steps", "10", "--warmup", "3", "--batch", "32", "--out", str(tmp_path / "g.json")]
    report = _run_gpu_bench(args, monkeypatch)
    assert report["precision"] == "bf16-mixed"
    assert report["models"]["resnet50 backbone"]["input"] == 224
