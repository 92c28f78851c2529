"""Features flow: image features for new lake media, then the training table.

Two ways to compute image features, with identical results:

* default: one task calls ``picme.features.table.update_image_features``, which batches the
  images over a local process pool (never one Prefect task per image);
* ``settings.dask_address`` (``PICME_DASK_ADDRESS``) or the ``dask_address`` parameter
  names an existing Dask scheduler: the images still to do are cut into batches, each
  batch is one Prefect task on a ``DaskTaskRunner`` connected to that cluster, and the
  records are merged into lake/image_features here.

The options are those of ``picme features`` (:class:`picme.dataset.config.FeaturesConfig`,
the ``config`` parameter). Both stages are cached on a hash of the lake tables they read,
the settings, the task source and the library code that computes them, so a run over an
unchanged lake is skipped. The training-table task's key also carries the UTC date: posts
settle with time (``settle_days``), so a table built yesterday may differ from today's on
the same lake.
"""

from __future__ import annotations

import importlib.util
import pkgutil
from datetime import UTC, datetime
from typing import Any, Literal, cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.futures import as_completed
from pydantic import BaseModel

from flows.common import (
    code_fingerprint,
    content_fingerprint,
    lake_inputs_for_features,
    lake_table_path,
    load_settings,
    publish_counts,
    resolve_settings,
    run_cached,
    settings_key,
    settings_payload,
)
from picme.dataset.build import build_training_table
from picme.dataset.config import FeaturesConfig
from picme.dataset.run import features_settings
from picme.features.compute import extract_features_for_paths
from picme.features.table import update_image_features

PROGRESS_KEY = "picme-features-progress"
DEFAULT_BATCH = 64
# The payload itself is left out of the keys: settings_key hashes the fields that matter.
CACHE_POLICY = (INPUTS - "settings") + TASK_SOURCE


class ImageFeaturesOutcome(BaseModel):
    """The image-features step: its report's counts, where it ran, whether it was cached."""

    summary: str
    n_new: int
    n_cached: int
    n_failed: int
    engine: Literal["processes", "dask"]
    cached: bool = False


class TrainingTableOutcome(BaseModel):
    """The training-table step: rows, exclusions per reason, fingerprint, cached or not."""

    summary: str
    rows: int
    excluded: dict[str, int]
    fingerprint: str
    cached: bool = False


class FeaturesFlowResult(BaseModel):
    """What the features flow returns: both steps and the lake's table counts after them."""

    image_features: ImageFeaturesOutcome
    training: TrainingTableOutcome
    counts: list[dict[str, Any]]


def package_modules(package: str) -> tuple[str, ...]:
    """Every module of a library package (located, not imported): a change to any of them
    reruns the cached step. Reruns are cheap where the step itself is incremental."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(package)
    found = pkgutil.iter_modules(list(spec.submodule_search_locations), package + ".")
    return tuple(sorted(m.name for m in found if not m.ispkg))


def _progress_reporter(description: str) -> Any:
    """A ``progress(done, total)`` callback feeding one Prefect progress artifact."""
    artifact_id = cast(
        UUID, create_progress_artifact(0.0, key=PROGRESS_KEY, description=description)
    )
    last = [-1.0]

    def report(done: int, total: int) -> None:
        pct = 100.0 if total == 0 else round(100.0 * done / total, 1)
        if pct != last[0]:
            last[0] = pct
            update_progress_artifact(artifact_id, pct)

    return report


@task(name="image-features", cache_policy=CACHE_POLICY, persist_result=True)
def image_features_task(
    settings: dict[str, Any], key: str, lake_fingerprint: str, code: str
) -> ImageFeaturesOutcome:
    report = update_image_features(
        load_settings(settings), progress=_progress_reporter("image features (process pool)")
    )
    return ImageFeaturesOutcome(
        summary=report.summary(),
        n_new=report.n_new,
        n_cached=report.n_cached,
        n_failed=report.n_failed,
        engine="processes",
    )


@task(name="image-features-batch")
def feature_batch_task(paths: list[str], max_side: int) -> list[dict[str, Any]]:
    """One batch in this process: on Dask the worker processes are the parallelism."""
    return extract_features_for_paths(paths, workers=1, max_side=max_side)


@flow(name="image-features-dask")
def dask_features_flow(
    settings: dict[str, Any], batch_size: int = DEFAULT_BATCH
) -> ImageFeaturesOutcome:
    """Runs under a DaskTaskRunner (see :func:`features_flow`): batches go to the cluster;
    update_image_features chooses the images and merges the records, as it does locally."""
    logger = get_run_logger()
    size = max(1, batch_size)
    n_batches = [0]

    def on_dask(paths: list[str], max_side: int) -> list[dict[str, Any]]:
        batches = [paths[i : i + size] for i in range(0, len(paths), size)]
        n_batches[0] = len(batches)
        logger.info("%d images to do in %d batches on Dask", len(paths), len(batches))
        progress = _progress_reporter(f"image features on Dask ({len(batches)} batches)")
        futures = [feature_batch_task.submit(b, max_side) for b in batches]
        index = {f.task_run_id: i for i, f in enumerate(futures)}
        results: list[list[dict[str, Any]]] = [[] for _ in batches]
        done = 0
        for fut in as_completed(futures):
            i = index[fut.task_run_id]
            results[i] = fut.result()
            done += len(batches[i])
            progress(done, len(paths))
        progress(len(paths), len(paths))
        return [r for batch in results for r in batch]

    report = update_image_features(load_settings(settings), extract=on_dask)
    return ImageFeaturesOutcome(
        summary=f"{report.summary()} (on Dask, {n_batches[0]} batches)",
        n_new=report.n_new,
        n_cached=report.n_cached,
        n_failed=report.n_failed,
        engine="dask",
    )


@task(name="build-training-table", cache_policy=CACHE_POLICY, persist_result=True)
def build_table_task(
    settings: dict[str, Any], key: str, lake_fingerprint: str, day: str, code: str
) -> TrainingTableOutcome:
    report = build_training_table(load_settings(settings))
    return TrainingTableOutcome(
        summary=report.summary(),
        rows=int(report.rows),
        excluded={str(k): int(v) for k, v in dict(report.excluded or {}).items()},
        fingerprint=str(report.fingerprint),
    )


def run_image_features(
    settings_dict: dict[str, Any], batch_size: int, refresh: bool
) -> ImageFeaturesOutcome:
    """Dispatch to the Dask or the process-pool path; called inside a flow."""
    s = load_settings(settings_dict)
    if s.dask_address:
        from prefect_dask import DaskTaskRunner

        runner: Any = DaskTaskRunner(address=s.dask_address)
        return dask_features_flow.with_options(task_runner=runner)(settings_dict, batch_size)
    lake_fp = content_fingerprint(lake_inputs_for_features(s))
    result = run_cached(
        image_features_task,
        refresh,
        settings_dict,
        settings_key(settings_dict),
        lake_fp,
        code_fingerprint(package_modules("picme.features")),
    )
    return ImageFeaturesOutcome.model_validate(result)


@flow(name="features", log_prints=True)
def features_flow(
    home: str | None = None,
    config: FeaturesConfig = FeaturesConfig(),
    dask_address: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    force: bool = False,
) -> FeaturesFlowResult:
    """Image features for new lake media, then the training table, labels, pairs, split.

    Args:
        home: PICME_HOME, the data folder (default: the PICME_HOME of the process running
            the flow).
        config: The options of `picme features`; each one left at its default keeps the
            setting of the environment (PICME_*).
        dask_address: An existing Dask scheduler for the image batches, e.g.
            tcp://10.0.0.5:8786 (default: PICME_DASK_ADDRESS; none: a local process pool).
        batch_size: Images per Dask task.
        force: Recompute both steps even when the lake has not changed.
    """
    logger = get_run_logger()
    settings = features_settings(config, resolve_settings(home, dask_address=dask_address))
    payload = settings_payload(settings)
    # Derived tables deleted under an unchanged lake must be rebuilt, not served from cache.
    refresh_feat = force or not lake_table_path(settings, "image_features").is_file()
    refresh_build = force or not lake_table_path(settings, "training").is_file()

    feat = run_image_features(payload, batch_size, refresh_feat)
    if feat.cached:
        logger.info("lake unchanged since the last features run: image features skipped")
    else:
        print(feat.summary)

    # The build also reads the image features just written (or kept).
    lake_fp = content_fingerprint(
        [*lake_inputs_for_features(settings), lake_table_path(settings, "image_features")]
    )
    day = datetime.now(UTC).date().isoformat()
    build = TrainingTableOutcome.model_validate(
        run_cached(
            build_table_task,
            refresh_build,
            payload,
            settings_key(payload),
            lake_fp,
            day,
            code_fingerprint(package_modules("picme.dataset"), sql=True),
        )
    )
    if build.cached:
        logger.info("lake unchanged today: training table reused")
    else:
        print(build.summary)
    counts = publish_counts(settings, "features")
    return FeaturesFlowResult(image_features=feat, training=build, counts=counts)
