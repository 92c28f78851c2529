"""The networks. Every registered body maps (normalised image, standardised metadata) to one
score per example; :class:`PicmeNet` adds the pixel normalisation so that callers, the
logged model and the scorer all feed it uint8 NHWC images exactly as cached."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from picme.errors import InputError
from picme.models.backbones import DEFAULT_ARCH, build_backbone
from picme.models.preprocess import IMAGENET_MEAN, IMAGENET_STD

BodyFactory = Callable[..., nn.Module]
MODEL_REGISTRY: dict[str, BodyFactory] = {}


def register_model(name: str) -> Callable[[BodyFactory], BodyFactory]:
    def deco(factory: BodyFactory) -> BodyFactory:
        MODEL_REGISTRY[name] = factory
        return factory

    return deco


class PicmeNet(nn.Module):
    """uint8 images (B, S, S, 3) + standardised metadata (B, M) -> scores (B,)."""

    pixel_mean: torch.Tensor
    pixel_std: torch.Tensor

    def __init__(
        self,
        body: nn.Module,
        *,
        uses_image: bool,
        mean: tuple[float, ...] = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        self.body = body
        self.uses_image = uses_image
        self.register_buffer("pixel_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype == torch.uint8:
            x = images.permute(0, 3, 1, 2).float().div_(255.0)
        else:  # already float NHWC in [0, 1] (saliency feeds a leaf tensor it differentiates)
            x = images.permute(0, 3, 1, 2)
        return (x - self.pixel_mean) / self.pixel_std

    def forward(self, images: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        x = self.normalize(images) if self.uses_image else images
        return self.body(x, meta).reshape(-1)

    @property
    def cam_layer(self) -> nn.Module | None:
        """The last convolutional block, where Grad-CAM looks; None for metadata-only."""
        return getattr(self.body, "cam_layer", None)


class MetaMLP(nn.Module):
    def __init__(self, n_meta: int, hidden: int = 64, out: int = 32, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_meta, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, out),
            nn.ReLU(inplace=True),
        )

    def forward(self, meta: torch.Tensor) -> torch.Tensor:
        return self.net(meta)


class SeedCNN(nn.Module):
    """The poster's CNN: conv3x3+ReLU, a max-pool between each pair of convolutions, then
    flatten and dense layers. Image only, as on the poster."""

    def __init__(self, image_size: int, channels: tuple[int, ...] = (16, 32, 64, 64)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, side = 3, image_size
        for i, c in enumerate(channels):
            if i > 0:
                layers.append(nn.MaxPool2d(2))
                side //= 2
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(inplace=True)]
            c_in = c
        if side < 1:
            raise InputError(f"seed-cnn: image size {image_size} is too small (use >= 16)")
        self.features = nn.Sequential(*layers)
        self.cam_layer = layers[-1]
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * side * side, 64),
            nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(64, 1),
        )

    def forward(self, x: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class SmallEncoder(nn.Module):
    """A compact conv encoder (conv3x3-BN-ReLU then max-pool, per width) with global
    pooling: ~16 M multiply-adds per 64 px image, so it trains on a CPU."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = 3
        for c in widths:
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(2),
                )
            )
            c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.cam_layer = blocks[-1]
        self.out_dim = c_in
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.blocks(x)).flatten(1)


class FusionBody(nn.Module):
    """Image encoder and metadata MLP, concatenated, then a small head."""

    def __init__(
        self, encoder: nn.Module, enc_dim: int, n_meta: int, cam_layer: nn.Module | None
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.meta = MetaMLP(n_meta) if n_meta > 0 else None
        meta_dim = 32 if n_meta > 0 else 0
        self.head = nn.Sequential(
            nn.Linear(enc_dim + meta_dim, 64),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(64, 1),
        )
        self.cam_layer = cam_layer

    def forward(self, x: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        parts = [self.encoder(x)]
        if self.meta is not None:
            parts.append(self.meta(meta))
        return self.head(torch.cat(parts, dim=1))


class MetadataBody(nn.Module):
    def __init__(self, n_meta: int) -> None:
        super().__init__()
        if n_meta == 0:
            raise InputError(
                "metadata model: the training table has no metadata or feature columns; "
                "run `picme features` first"
            )
        self.mlp = MetaMLP(n_meta, hidden=64, out=32)
        self.out = nn.Linear(32, 1)

    def forward(self, x: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        return self.out(self.mlp(meta))


@register_model("seed-cnn")
def _seed_cnn(*, image_size: int, n_meta: int, **_: Any) -> PicmeNet:
    return PicmeNet(SeedCNN(image_size), uses_image=True)


@register_model("metadata")
def _metadata(*, image_size: int, n_meta: int, **_: Any) -> PicmeNet:
    return PicmeNet(MetadataBody(n_meta), uses_image=False)


@register_model("fusion")
def _fusion(*, image_size: int, n_meta: int, **_: Any) -> PicmeNet:
    enc = SmallEncoder()
    return PicmeNet(FusionBody(enc, enc.out_dim, n_meta, enc.cam_layer), uses_image=True)


@register_model("backbone")
def _backbone(
    *,
    image_size: int,
    n_meta: int,
    arch: str | None = None,
    weights: str | None = None,
    from_scratch: bool = False,
    **_: Any,
) -> PicmeNet:
    enc, dim, cam = build_backbone(arch or DEFAULT_ARCH, weights=weights, from_scratch=from_scratch)
    return PicmeNet(FusionBody(enc, dim, n_meta, cam), uses_image=True)


def make_net(name: str, **kwargs: Any) -> PicmeNet:
    try:
        factory = MODEL_REGISTRY[name]
    except KeyError:
        raise InputError(
            f"unknown model {name!r}; choose one of: {', '.join(sorted(MODEL_REGISTRY))}"
        ) from None
    net = factory(**kwargs)
    assert isinstance(net, PicmeNet)
    return net
