"""The scorer for a logged MLflow model (see ``picme.scoring.api`` for the loader and
``picme.scoring.heuristic`` for the model-free scorer). It reproduces the training
preprocessing from the model's saved :class:`~picme.models.preprocess.Preprocessing`.

torch and mlflow (``picme.models.infer``, ``picme.models.pyfunc``) are imported when a model
is loaded or scores, not here: ``picme.scoring.api`` imports this module on curation's path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from picme.errors import InputError
from picme.models.percentiles import PercentileTable
from picme.models.preprocess import Preprocessing
from picme.models.request import PHOTO, decode_side, network_inputs
from picme.registry.tracking import client, use_tracking
from picme.scoring.base import aligned, check_image
from picme.scoring.ranker import RankerScorer
from picme.scoring.saliency import saliency_map
from picme.util import progress

if TYPE_CHECKING:
    from picme.models.nets import PicmeNet
    from picme.settings import Settings


class ModelScorer:
    """Scores images with a trained network; metadata is used when the caller gives it,
    otherwise each metadata column is neutral (its training mean). ``request_format`` says
    what the logged model takes (``photo``, or ``tensors`` for a version logged before);
    ``percentiles`` is its training photos' table (None for a version logged before)."""

    def __init__(
        self,
        net: PicmeNet,
        prep: Preprocessing,
        *,
        name: str,
        version: str | None = None,
        percentiles: PercentileTable | None = None,
        request_format: str = PHOTO,
    ) -> None:
        self.net = net
        self.prep = prep
        self.name = name
        self.version = version
        self.max_side = decode_side(prep.image_size)
        self.percentiles = percentiles
        self.request_format = request_format

    def prepare(
        self,
        images: Sequence[np.ndarray],
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        features: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(images)
        md = aligned(metadata, n, "metadata")
        ft = aligned(features, n, "features")
        for i, image in enumerate(images):
            check_image(image, i)
        return network_inputs(self.prep, images, md, ft)

    def percentile(self, scores: np.ndarray) -> np.ndarray | None:
        """Each score's percentile among the training photos; None for a model logged
        before models carried their training photos' scores."""
        return None if self.percentiles is None else self.percentiles.percentile(scores)

    def score_prepared(self, images: np.ndarray, meta_raw: np.ndarray) -> np.ndarray:
        from picme.models.infer import predict_prepared

        return predict_prepared(self.net, self.prep, images, meta_raw)

    def score_images(
        self,
        images: Sequence[np.ndarray],
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        features: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> np.ndarray:
        if len(images) == 0:
            return np.zeros(0, np.float64)
        batch, meta = self.prepare(images, metadata, features)
        return self.score_prepared(batch, meta)

    def saliency(self, image: np.ndarray) -> np.ndarray | None:
        check_image(image, 0)
        return saliency_map(self.net, self.prep, image)


def _version_of(uri: str, settings: Settings) -> tuple[str | None, str | None]:
    """(registered model name, version) for models:/ URIs, resolving aliases."""
    m = re.fullmatch(r"models:/([^/@]+)(?:@([^/]+)|/([^/]+))/?", uri)
    if not m:
        return None, None
    name, alias, version = m.group(1), m.group(2), m.group(3)
    if version is not None and version.isdigit():
        return name, version
    c = client(settings)
    if alias is not None:
        return name, str(c.get_model_version_by_alias(name, alias).version)
    if version is not None:  # a stage name such as "latest"
        latest = c.get_latest_versions(name)
        return name, str(max(int(v.version) for v in latest)) if latest else None
    return name, None


def load_model_scorer(uri: str, settings: Settings) -> ModelScorer | RankerScorer:
    """The scorer of a model logged by ``picme train``: a network or a tabular ranker, in
    the photo-request form or logged before it (told apart by the signature's inputs)."""
    with progress.task(f"loading model {uri}"):
        import mlflow.pyfunc

        use_tracking(settings)
        loaded = mlflow.pyfunc.load_model(uri)
    return _scorer_of(loaded, uri, settings)


def _scorer_of(loaded: Any, uri: str, settings: Settings) -> ModelScorer | RankerScorer:
    from picme.models.ranker_pyfunc import PicmeRankerPyfunc
    from picme.models.serving import request_format

    inner = loaded.unwrap_python_model()
    reg_name, version = _version_of(uri, settings)
    fmt = request_format(loaded.metadata.get_input_schema())
    # Only a photo-request model's table belongs to its own scores.
    table = getattr(inner, "percentiles", None) if fmt == PHOTO else None
    if isinstance(inner, PicmeRankerPyfunc):
        label = f"{reg_name or 'model'}:{inner.ranker.kind}"
        return RankerScorer(
            inner.ranker, name=label, version=version, embedder=inner.embedder,
            percentiles=table, request_format=fmt,
        )  # fmt: skip
    # Only here: it imports torch, which a ranker without embeddings never needs.
    from picme.models.pyfunc import PicmePyfunc

    if not isinstance(inner, PicmePyfunc):
        raise InputError(f"model {uri!r} is not a PicMe scorer (logged by `picme train`)")
    label = f"{reg_name or 'model'}:{inner.prep.model}/{inner.prep.loss}"
    return ModelScorer(
        inner.net, inner.prep, name=label, version=version, percentiles=table, request_format=fmt
    )
