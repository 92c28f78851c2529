"""Scoring models, registered by name and built by one factory.

``seed-cnn``: the poster's CNN (270x270 RGB, 3x3 convolutions with ReLU and a pooling layer
between each pair, flatten, dense). ``metadata``: the poster's first model, metadata and
image features only. ``fusion``: an image branch and a metadata branch together (the
poster's planned model; ``picme train``'s automatic choice considers it on large tables).
``backbone``: a named architecture (``--arch``, default resnet50) with ImageNet weights from
a local file or the torch hub cache, fused with the metadata branch; offline without weights
it trains only with ``--from-scratch``.

The tabular rankers (``ranker``: LightGBM lambdarank per account; ``linear-pairwise``) are
registered in ``ranker`` (RANKERS) and logged through ``ranker_pyfunc``; ``embed`` is the
frozen backbone whose projected features they can read as extra columns.

Also here: the LightningModule (``module``) apart from the networks (``nets``,
``backbones``), the DataModule and decoded-image cache (``data``), losses by name
(``losses``), ranking metrics (``metrics``), preprocessing and the MLflow pyfunc class
(``pyfunc``, pickled by this import path: it must not move), and the photo request every
logged model takes (``request``: a table of encoded photos and metadata by name to model
inputs; ``serving``: its signature and input example; ``percentiles``: where a score stands
among the training photos).

This package's ``__init__`` imports no torch, so ``picme.models.preprocess`` stays light for
the scorer; the networks live in ``picme.models.nets``.

May import: ``picme.dataset``, ``picme.features``, ``picme.util``, ``picme.settings``,
``picme.errors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from picme.models.nets import PicmeNet

#: Defaults per model: the poster's seed-cnn at 270 px for 15 epochs; the others smaller.
DEFAULT_IMAGE_SIZE = {"seed-cnn": 270, "metadata": 32, "fusion": 128, "backbone": 224}
DEFAULT_EPOCHS = {"seed-cnn": 15, "metadata": 30, "fusion": 12, "backbone": 8}


def available_models() -> list[str]:
    from picme.models.nets import MODEL_REGISTRY

    return sorted(MODEL_REGISTRY)


def build_model(
    name: str,
    *,
    image_size: int,
    n_meta: int,
    arch: str | None = None,
    weights: str | None = None,
    from_scratch: bool = False,
    **kwargs: Any,
) -> PicmeNet:
    """The registered network ``name`` wrapped to take uint8 NHWC images and metadata."""
    from picme.models.nets import make_net

    return make_net(
        name,
        image_size=image_size,
        n_meta=n_meta,
        arch=arch,
        weights=weights,
        from_scratch=from_scratch,
        **kwargs,
    )
