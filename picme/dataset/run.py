"""The features stage as one call: image features for new lake media, then the training
table, with the options of :class:`~picme.dataset.config.FeaturesConfig`.

``picme features`` runs it; the features flow runs the same two steps as separate cached
Prefect tasks, with the same configuration and :func:`features_settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from picme.dataset.build import BuildReport, build_training_table
from picme.dataset.config import FeaturesConfig
from picme.dataset.params import query_parameters
from picme.features.table import FeatureReport, update_image_features
from picme.settings import Settings, get_settings
from picme.util import progress


@dataclass(frozen=True)
class FeaturesResult:
    """What the stage did: the image features update, then the build."""

    features: FeatureReport
    training: BuildReport

    def summary(self) -> str:
        return f"{self.features.summary()}\n{self.training.summary()}"


def features_settings(config: FeaturesConfig, settings: Settings | None = None) -> Settings:
    """``settings`` (default: from the environment) with the options ``config`` gives; bad
    values fail here, before any image is read."""
    overrides = config.settings_overrides()
    if settings is None:
        settings = get_settings(**overrides)
    else:
        settings = settings.model_copy(update=overrides)
    query_parameters(settings, datetime.now(UTC))
    return settings


def run_features(
    config: FeaturesConfig,
    settings: Settings | None = None,
    *,
    on_summary: Callable[[str], None] | None = None,
) -> FeaturesResult:
    """Update lake/image_features, then build lake/training/. ``on_summary`` gets each
    step's summary as soon as the step is done (the build may still fail after it)."""
    settings = features_settings(config, settings)
    features = update_image_features(settings)
    if on_summary is not None:
        on_summary(features.summary())
    with progress.task("building the training table"):
        training = build_training_table(settings)
    if on_summary is not None:
        on_summary(training.summary())
    return FeaturesResult(features=features, training=training)
