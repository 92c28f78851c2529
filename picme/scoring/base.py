"""What every scorer is: the :class:`Scorer` protocol, and the input checks they share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from picme.errors import InputError


@runtime_checkable
class Scorer(Protocol):
    """What curation and evaluation rely on. Scores: higher is better."""

    name: str
    version: str | None
    max_side: int

    def score_images(
        self,
        images: Sequence[np.ndarray],
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        features: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> np.ndarray: ...

    def saliency(self, image: np.ndarray) -> np.ndarray | None: ...


def check_image(image: np.ndarray, i: int) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", type(image).__name__)
        raise InputError(
            f"image {i}: expected an RGB uint8 array HxWx3 "
            f"(from picme.features.decode.decode_image), got {shape}"
        )


def aligned(
    seq: Sequence[Mapping[str, Any] | None] | None, n: int, what: str
) -> list[Mapping[str, Any] | None]:
    if seq is None:
        return [None] * n
    items = list(seq)
    if len(items) != n:
        raise InputError(f"{what}: got {len(items)} entries for {n} images; give one per image")
    return items
