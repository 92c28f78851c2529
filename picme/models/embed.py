"""A frozen ImageNet backbone as an embedding extractor for the tabular rankers.

The built-in ResNet-18/34/50 (:mod:`picme.models.backbones`) is loaded from a checkpoint in
torchvision's format (the architecture is read from the tensors it holds), its classifier
dropped, and run in eval mode without gradients: ``embed`` turns uint8 (N, S, S, 3) images
into (N, D) pooled features with ImageNet normalisation at ``image_size`` px. A principal
component projection, fitted on the training rows, reduces them to K columns
``emb_0..emb_{K-1}`` that the rankers read beside the image features and the metadata.

Everything needed to reproduce the columns is saved as two plain files: the backbone's state
dict (``torch.save``, loadable with ``weights_only=True``) and a JSON document with the
architecture, the input size and the projection. A logged ranker carries both, so scoring
needs neither the original checkpoint nor a download.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from picme.errors import InputError
from picme.models.backbones import BUILTIN_ARCHS, ResNet, read_checkpoint
from picme.models.preprocess import IMAGENET_MEAN, IMAGENET_STD, square_resize
from picme.models.ranker import embedding_columns

FORMAT_VERSION = 1
DEFAULT_SIZE = 224
DEFAULT_COMPONENTS = 16
WEIGHTS_FILE = "embed_backbone.pt"
SPEC_FILE = "embed.json"
# Images per forward pass: small enough for a CPU's cache at 224 px, large enough to batch.
BATCH = 32


def _comparable(state: dict[str, torch.Tensor]) -> set[str]:
    # The classifier is dropped, and BatchNorm's counter is absent from older torchvision
    # checkpoints and unused in eval mode: neither decides whether a checkpoint fits.
    return {k for k in state if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}


def infer_arch(state: dict[str, torch.Tensor], where: str) -> str:
    """Which built-in ResNet a torchvision state dict is, by its block layout."""
    keys = _comparable(state)
    if "layer1.0.conv3.weight" in keys:
        return "resnet50"
    if "layer3.5.conv1.weight" in keys:
        return "resnet34"
    if "layer1.0.conv1.weight" in keys:
        return "resnet18"
    raise InputError(
        f"{where}: not a torchvision ResNet checkpoint (no layer1 block found); "
        "give resnet18, resnet34 or resnet50 weights"
    )


def frozen_backbone(state: dict[str, torch.Tensor], where: str) -> tuple[str, ResNet]:
    """(arch, the built-in ResNet with exactly these weights, eval mode, no gradients)."""
    arch = infer_arch(state, where)
    net = BUILTIN_ARCHS[arch]()
    own = net.state_dict()
    keys = _comparable(state)
    missing = [k for k in _comparable(own) if k not in keys or own[k].shape != state[k].shape]
    extra = sorted(keys - set(own))
    if missing or extra:
        first = (missing or extra)[0]
        raise InputError(
            f"{where} does not fit {arch}: {len(missing)} tensors missing or of another "
            f"shape, {len(extra)} unexpected (first: {first}); give a torchvision "
            "resnet18, resnet34 or resnet50 checkpoint"
        )
    net.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return arch, net


@dataclass
class Projection:
    """Principal components of the training rows' embeddings: ``(raw - mean) @ components.T``."""

    mean: list[float]
    components: list[list[float]]

    @property
    def k(self) -> int:
        return len(self.components)

    @classmethod
    def fit(cls, raw: np.ndarray, k: int) -> Projection:
        rows = np.asarray(raw, np.float64)
        rows = rows[np.isfinite(rows).all(axis=1)]
        if len(rows) < 2:
            raise InputError(
                f"{len(rows)} decodable training images: too few to fit the embedding projection"
            )
        mean = rows.mean(axis=0)
        _, _, vt = np.linalg.svd(rows - mean, full_matrices=False)
        # Centred rows span at most n-1 directions; components past that are noise.
        comps = vt[: max(1, min(k, len(rows) - 1, vt.shape[0]))]
        # SVD's signs are arbitrary; fixing them (largest loading positive, as scikit-learn
        # does) keeps the columns the same across LAPACK builds.
        signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
        comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
        return cls(mean.tolist(), comps.tolist())

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """(N, K) float64; a row of NaN (an undecodable image) stays NaN."""
        centred = np.asarray(raw, np.float64) - np.asarray(self.mean)
        return centred @ np.asarray(self.components).T


class Embedder:
    """A frozen backbone and, once fitted, its projection to the ranker's columns."""

    def __init__(
        self, arch: str, net: ResNet, image_size: int, projection: Projection | None = None
    ) -> None:
        if image_size < 32:
            raise InputError(f"embedding size {image_size} px: give at least 32")
        self.arch = arch
        self.net = net
        self.image_size = int(image_size)
        self.projection = projection

    @classmethod
    def from_checkpoint(cls, path: str | Path, image_size: int = DEFAULT_SIZE) -> Embedder:
        where = f"--embeddings {path}"
        state = read_checkpoint(Path(path), option="--embeddings")
        arch, net = frozen_backbone(state, where)
        return cls(arch, net, image_size)

    @property
    def dim(self) -> int:
        return int(self.net.out_dim)

    @property
    def columns(self) -> list[str]:
        if self.projection is None:
            raise ValueError("the embedding projection is not fitted yet")
        return embedding_columns(self.projection.k)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S, 3) RGB to float32 (N, D) pooled features; another S is resized."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise InputError(f"embed: expected uint8 (N, S, S, 3) images, got {images.shape}")
        s = self.image_size
        out = np.empty((len(images), self.dim), np.float32)
        mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(1, 3, 1, 1)
        with torch.inference_mode():
            for start in range(0, len(images), BATCH):
                chunk = images[start : start + BATCH]
                if chunk.shape[1:3] != (s, s):
                    chunk = np.stack([square_resize(im, s) for im in chunk])
                x = torch.from_numpy(np.ascontiguousarray(chunk, np.uint8)).permute(0, 3, 1, 2)
                x = (x.float() / 255.0 - mean) / std
                out[start : start + len(chunk)] = self.net(x).numpy()
        return out

    def fit_projection(self, raw: np.ndarray, k: int = DEFAULT_COMPONENTS) -> Projection:
        self.projection = Projection.fit(raw, k)
        return self.projection

    def project(self, raw: np.ndarray) -> np.ndarray:
        if self.projection is None:
            raise ValueError("the embedding projection is not fitted yet")
        return self.projection.apply(raw)

    def transform(self, images: np.ndarray) -> np.ndarray:
        """Images to the ranker's embedding columns, (N, K) float64."""
        return self.project(self.embed(images))

    def spec(self) -> dict[str, object]:
        p = self.projection
        return {
            "format_version": FORMAT_VERSION,
            "arch": self.arch,
            "image_size": self.image_size,
            "dim": self.dim,
            "columns": self.columns,
            "projection": {"mean": p.mean, "components": p.components} if p else None,
        }

    def save(self, folder: Path) -> tuple[Path, Path]:
        """(weights file, spec file) in ``folder``: what a logged ranker carries."""
        folder.mkdir(parents=True, exist_ok=True)
        weights, spec = folder / WEIGHTS_FILE, folder / SPEC_FILE
        torch.save(self.net.state_dict(), weights)
        spec.write_text(json.dumps(self.spec(), sort_keys=True))
        return weights, spec

    @classmethod
    def load(cls, weights: str | Path, spec: str | Path) -> Embedder:
        data = json.loads(Path(spec).read_text())
        state = read_checkpoint(Path(weights), option="embedding weights")
        arch, net = frozen_backbone(state, f"embedding weights {weights}")
        if arch != data["arch"]:
            raise InputError(f"embedding weights {weights} are {arch}, {spec} says {data['arch']}")
        proj = data.get("projection")
        projection = Projection(proj["mean"], proj["components"]) if proj else None
        return cls(arch, net, int(data["image_size"]), projection)
