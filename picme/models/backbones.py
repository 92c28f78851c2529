"""Named image backbones for the ``backbone`` model.

torchvision does not import beside the CPU torch build this project installs, and timm
needs torchvision, so ResNet-18/34/50 are built here in plain PyTorch with torchvision's
parameter names: a torchvision ImageNet checkpoint (``resnet50-0676ba61.pth`` and the like)
loads into them unchanged. Any other architecture name is built by torchvision or timm when
that library imports on the machine (a GPU box with a matching torchvision, for instance).

Weights are never downloaded. They come from ``--weights FILE`` or, when none is given, from
the torch hub cache (``$TORCH_HOME/hub/checkpoints/<arch>-*.pth``); with neither, training
stops with a message unless ``--from-scratch`` asks for random initialisation.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from picme.errors import InputError

DEFAULT_ARCH = "resnet50"


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Any = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Any = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        # Stride on the 3x3 convolution, as torchvision's ResNet v1.5.
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet layout without the classifier; forward gives pooled features."""

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: list[int]) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = 512 * block.expansion
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(
        self, block: type[BasicBlock] | type[Bottleneck], planes: int, n: int, stride: int = 1
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers: list[nn.Module] = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, n)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)


BUILTIN_ARCHS: dict[str, Callable[[], ResNet]] = {
    "resnet18": lambda: ResNet(BasicBlock, [2, 2, 2, 2]),
    "resnet34": lambda: ResNet(BasicBlock, [3, 4, 6, 3]),
    "resnet50": lambda: ResNet(Bottleneck, [3, 4, 6, 3]),
}


def builtin_archs() -> list[str]:
    return sorted(BUILTIN_ARCHS)


def hub_checkpoint(arch: str) -> Path | None:
    """A cached torchvision checkpoint for ``arch`` in the torch hub folder, if any."""
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    found = sorted(glob.glob(str(hub / f"{glob.escape(arch)}-*.pth")))
    return Path(found[-1]) if found else None


def read_checkpoint(path: Path, option: str = "--weights") -> dict[str, torch.Tensor]:
    """A state dict from a local ``.pth``/``.pt``/``.safetensors`` file (also one wrapped in
    ``{"state_dict": ...}`` or saved from DataParallel); ``option`` names it in messages."""
    if not path.is_file():
        raise InputError(f"{option} {path}: no such file; give a local .pth/.pt/.safetensors")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"{option} {path}: cannot read ({type(exc).__name__}: {exc})") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"{option} {path}: not a state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _load_into(module: nn.Module, path: Path, arch: str) -> None:
    state = read_checkpoint(path)
    own = module.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = [k for k in own if k not in usable]
    if missing:
        raise InputError(
            f"--weights {path} does not fit {arch}: {len(missing)} tensors missing or of "
            f"another shape (first: {missing[0]}); give the checkpoint of the same architecture"
        )
    module.load_state_dict(usable, strict=False)


def _no_weights(arch: str) -> InputError:
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    return InputError(
        f"no ImageNet weights for {arch} on this machine (none given with --weights, none in "
        f"{hub}); PicMe never downloads weights: give --weights FILE, or --from-scratch to "
        "train from random initialisation"
    )


def _init_weights(module: nn.Module, arch: str, weights: str | None, from_scratch: bool) -> None:
    """``--weights``, else the torch hub cache, else random only when asked for."""
    if weights:
        _load_into(module, Path(weights), arch)
    elif not from_scratch:
        cached = hub_checkpoint(arch)
        if cached is None:
            raise _no_weights(arch)
        _load_into(module, cached, arch)


def _drop_classifier(model: nn.Module, arch: str) -> int:
    """Replace the classifier by the identity; returns the feature size it took."""
    for attr in ("fc", "classifier", "head", "heads"):
        head = getattr(model, attr, None)
        if isinstance(head, nn.Linear):
            linears = [head]
        elif isinstance(head, nn.Sequential):
            linears = [m for m in head if isinstance(m, nn.Linear)]
        else:
            continue
        if linears:
            setattr(model, attr, nn.Identity())
            return int(linears[-1].in_features)
    raise InputError(f"--arch {arch}: cannot find its classifier to replace")


def _torchvision(arch: str, weights: str | None, from_scratch: bool) -> tuple[nn.Module, int]:
    # Optional, and unimportable beside the CPU torch build; the caller then tries timm.
    import torchvision

    model = torchvision.models.get_model(arch, weights=None)
    _init_weights(model, arch, weights, from_scratch)
    return model, _drop_classifier(model, arch)


def _timm(arch: str, weights: str | None, from_scratch: bool) -> tuple[nn.Module, int]:
    try:
        import timm
    except ImportError:
        raise InputError(
            f"--arch {arch}: not built in (built in: {', '.join(builtin_archs())}) and neither "
            "torchvision nor timm imports on this machine"
        ) from None
    if not weights and not from_scratch:
        # Only the local Hugging Face cache: offline mode makes timm fail instead of fetching.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            model = timm.create_model(arch, pretrained=True, num_classes=0)
        except Exception as exc:
            raise _no_weights(arch) from exc
    else:
        model = timm.create_model(arch, pretrained=False, num_classes=0)
        if weights:
            _load_into(model, Path(weights), arch)
    return model, int(model.num_features)


def _external(arch: str, weights: str | None, from_scratch: bool) -> tuple[nn.Module, int]:
    """torchvision or timm, when either imports here."""
    try:
        return _torchvision(arch, weights, from_scratch)
    except ImportError:
        return _timm(arch, weights, from_scratch)


def build_backbone(
    arch: str, *, weights: str | None = None, from_scratch: bool = False
) -> tuple[nn.Module, int, nn.Module | None]:
    """(feature extractor giving (B, D), D, the layer Grad-CAM should look at)."""
    arch = arch.strip().lower()
    if arch in BUILTIN_ARCHS:
        net = BUILTIN_ARCHS[arch]()
        _init_weights(net, arch, weights, from_scratch)
        return net, net.out_dim, net.layer4
    model, dim = _external(arch, weights, from_scratch)
    return model, dim, None
