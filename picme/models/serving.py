"""What a logged PicMe model says about its request: the signature (``image`` as binary,
the optional metadata fields by name; per row ``score``, ``percentile``, ``status``), an input
example (a small JPEG and example metadata), and the percentile table of its training photos.
:func:`request_spec` turns the arguments of ``mlflow.pyfunc.log_model`` of any PicMe pyfunc
into that form, so every model the registry holds is served the same way.

Versions logged before took tensors (``images`` uint8 (N, S, S, 3) and ``meta`` float32) or,
for the rankers, the table's columns: :func:`request_format` tells them apart by the
signature's input names, and the scorer reads both.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType, Schema, TensorSpec

from picme.models.percentiles import PERCENTILES, PercentileTable
from picme.models.request import COLUMNS, IMAGE, OUTPUT_COLUMNS, PHOTO, TENSORS, request_fields

#: The key of a log_model spec holding the training photos' scores (taken out of the spec).
REFERENCE_SCORES = "reference_scores"

EXAMPLE_METADATA: dict[str, Any] = {
    "caption": "Golden hour at the lake #sunset #travel with @friend",
    "hashtags": "#sunset #travel",
    "mentions": "@friend",
    "tagged_users": "friend",
    "taken_at": "2024-05-01T18:30:00Z",
    "location": "Lake Geneva",
    "followers": 1200.0,
    "n_images": 1.0,
    "is_sponsored": 0.0,
}


def request_signature(meta_columns: list[str]) -> ModelSignature:
    fields: list[ColSpec | TensorSpec] = [ColSpec(DataType.binary, IMAGE)]
    fields += [
        ColSpec(getattr(DataType, kind), name, required=False)
        for name, kind in request_fields(meta_columns)
    ]
    score, percentile, status = OUTPUT_COLUMNS
    outputs = Schema(
        [
            ColSpec(DataType.double, score, required=False),
            ColSpec(DataType.double, percentile, required=False),
            ColSpec(DataType.string, status),
        ]
    )
    return ModelSignature(inputs=Schema(fields), outputs=outputs)


def example_jpeg(width: int = 64, height: int = 48) -> bytes:
    """A small photo-like JPEG: a gradient with a bright disk."""
    from PIL import Image

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([xx / width * 200 + 30, yy / height * 160 + 40, 180 - yy], axis=-1)
    disk = (yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (min(width, height) / 4) ** 2
    img[disk] = (240, 200, 60)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def request_example(meta_columns: list[str]) -> pd.DataFrame:
    """One row: a JPEG and, of the metadata the model reads, its raw fields."""
    row: dict[str, Any] = {IMAGE: example_jpeg()}
    row.update(
        {f: EXAMPLE_METADATA[f] for f, _ in request_fields(meta_columns) if f in EXAMPLE_METADATA}
    )
    return pd.DataFrame([row])


def request_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (python_model, artifacts, ..., and the training photos' scores under
    :data:`REFERENCE_SCORES`) as the arguments of ``mlflow.pyfunc.log_model``: the percentile
    table written beside the other artifacts, and the photo request's signature and example."""
    spec = dict(spec)
    if REFERENCE_SCORES not in spec:
        raise ValueError(
            f"a PicMe model is logged with its training photos' scores (spec[{REFERENCE_SCORES!r}])"
            ", which its percentiles are computed against"
        )
    scores = np.asarray(spec.pop(REFERENCE_SCORES), np.float64)
    artifacts = dict(spec["artifacts"])
    folder = Path(next(iter(artifacts.values()))).parent
    table = PercentileTable.from_scores(scores).save(folder / "percentiles.json")
    artifacts[PERCENTILES] = str(table)
    columns = spec["python_model"].metadata_columns(artifacts)
    spec.update(
        artifacts=artifacts,
        signature=request_signature(columns),
        input_example=request_example(columns),
    )
    return spec


def request_format(schema: Schema | None) -> str:
    """:data:`PHOTO`, :data:`TENSORS` or :data:`COLUMNS`, from a model's input schema."""
    names = schema.input_names() if schema is not None and schema.has_input_names() else []
    if IMAGE in names:
        return PHOTO
    if "images" in names:
        return TENSORS
    return COLUMNS
