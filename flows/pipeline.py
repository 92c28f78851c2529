"""The whole pipeline as one flow: data -> ingest -> features -> train (when the table grew)
-> evaluate -> curate, ending with a summary of where everything is.

Data comes from Instagram when ``profiles``/``hashtags`` are given, else from the sample
generator when raw/ is empty (or ``generate`` is true): ``picme demo`` is this flow on
generated data, in Prefect's ephemeral mode, with MLflow on SQLite under PICME_HOME.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from pydantic import BaseModel

from flows.common import PIPELINE_KEY, resolve_settings
from flows.retrain import TrainOutcome, train_if_needed
from picme.curate.config import CurateConfig
from picme.curate.run import CurationResult
from picme.lake.paths import lake_paths
from picme.registry.report import pipeline_markdown, shown_uri
from picme.registry.retrain import DEFAULT_MIN_GROWTH
from picme.scrape.config import ScrapeConfig
from picme.settings import Settings
from picme.training.config import TrainConfig

DEMO_ALBUM = "demo-album"
STAGES = ("data", "ingest", "features", "train", "curate")


class PipelineResult(BaseModel):
    """What each stage of a pipeline run did, and where its outputs are.

    ``scrape`` and ``generate`` are None when that source was not used, ``curate`` when no
    album was curated; ``where`` maps each layer to its location (see :func:`locations`).
    """

    # The stage flows' own results, whatever type each of them returns.
    scrape: Any = None
    generate: str | None = None
    ingest: Any
    features: Any
    train: TrainOutcome
    curate: CurationResult | None = None
    where: dict[str, str]

    def headline(self) -> str:
        if self.train.trained and self.train.train is not None:
            return f"trained and registered version {self.train.train.version}"
        return "training skipped"


@task(name="generate-sample")
def generate_task(raw_dir: str, accounts: int, posts: int, seed: int, image_size: int) -> str:
    from picme.synthetic.instagram import generate_sample

    return generate_sample(
        Path(raw_dir),
        n_accounts=accounts,
        posts_per_account=posts,
        seed=seed,
        image_size=image_size,
    ).summary()


@task(name="generate-demo-album")
def demo_album_task(album_dir: str, seed: int) -> str:
    """A small labelled album (bursts of near-duplicates, blurred and dark copies), drawn
    once and reused: it is what the demo curates."""
    from picme.synthetic.album import generate_album

    album = Path(album_dir)
    if album.is_dir() and any(album.iterdir()):
        return f"reusing the demo album at {album}"
    return generate_album(album, n_bursts=4, burst_size=3, n_singles=6, seed=seed).summary()


def _raw_is_empty(raw_dir: Path) -> bool:
    return not raw_dir.is_dir() or not any(raw_dir.iterdir())


def locations(settings: Settings, curation_dir: str | None = None) -> dict[str, str]:
    """Where each layer lives, and the command that opens the MLflow UI on it (a password
    in the tracking URI masked: this goes to the log and the pipeline's artifact)."""
    uri = shown_uri(settings.tracking_uri)
    where = {
        "PICME_HOME": str(settings.home),
        "raw": str(settings.raw_dir),
        "lake": settings.lake_uri or str(settings.lake_dir),
        "training table": str(lake_paths(settings).training),
        "DuckDB": str(settings.duckdb_path),
        "MLflow tracking URI": uri,
        "MLflow UI": f"mlflow ui --backend-store-uri '{uri}'" if uri.startswith("sqlite:") else uri,
    }
    if curation_dir:
        where["curation"] = str(Path(curation_dir) / "index.html")
    return where


def where_text(where: dict[str, str]) -> str:
    width = max(len(k) for k in where)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in where.items())


@flow(name="pipeline", log_prints=True)
def pipeline_flow(
    home: str | None = None,
    profiles: list[str] | None = None,
    hashtags: list[str] | None = None,
    max_posts: int | None = None,
    since: datetime | None = None,
    login: str | None = None,
    generate: bool | None = None,
    accounts: int = 6,
    posts: int = 40,
    sample_image_size: int = 256,
    seed: int = 0,
    train: TrainConfig = TrainConfig(),
    min_growth: float = DEFAULT_MIN_GROWTH,
    retrain_on_change: bool = True,
    force_train: bool = False,
    album: str | None = None,
    demo_album: bool = True,
    top: int = 8,
) -> PipelineResult:
    """Run every stage: data, ingest, features, train (when the table grew), evaluate,
    curate.

    Args:
        home: PICME_HOME, the data folder (default: the PICME_HOME of the process running
            the flow).
        profiles: Instagram profiles to scrape first.
        hashtags: Instagram hashtags to scrape first (needs ``login``).
        max_posts: At most this many new posts per scraped profile or hashtag.
        since: Only scrape posts on or after this time (UTC).
        login: Instagram user whose saved instaloader session file the scraper uses.
        generate: Sample data: None generates it only when raw/ is empty and nothing is to
            be scraped; True always; False never.
        accounts: Generated accounts.
        posts: Posts per generated account.
        sample_image_size: Long side of generated images (px).
        seed: Seed of the generated sample and of the demo album.
        train: What to train and how (the options of `picme train`).
        min_growth: Train when at least this share of the champion's rows (0.1 is 10%) are
            new, removed or changed, compared row by row.
        retrain_on_change: Count changed and removed rows too (off: only new rows count).
        force_train: Train even when the training table has not changed.
        album: Album folder to curate.
        demo_album: Without ``album``, curate a generated album under PICME_HOME.
        top: How many highlights to pick from the album.
    """
    from flows.curate import curate_flow
    from flows.features import features_flow
    from flows.ingest import ingest_flow
    from flows.scrape import scrape_flow

    logger = get_run_logger()
    settings = resolve_settings(home)
    settings.ensure_dirs()
    home_str = str(settings.home)
    progress_id = cast(UUID, create_progress_artifact(0.0, key=f"{PIPELINE_KEY}-progress"))

    def stage_done(name: str) -> None:
        update_progress_artifact(progress_id, 100.0 * (STAGES.index(name) + 1) / len(STAGES))

    scraped = None
    if profiles or hashtags:
        scraped = scrape_flow(
            ScrapeConfig(
                profiles=profiles or [],
                hashtags=hashtags or [],
                max_posts=max_posts,
                since=since,
                login=login,
            ),
            home=home_str,
        )
    generated = None
    wants_sample = generate is True or (
        generate is None and not (profiles or hashtags) and _raw_is_empty(settings.raw_dir)
    )
    if wants_sample:
        generated = generate_task(str(settings.raw_dir), accounts, posts, seed, sample_image_size)
        print(generated)
    stage_done("data")

    ingested = ingest_flow(home=home_str)
    stage_done("ingest")
    featured = features_flow(home=home_str)
    stage_done("features")
    trained = train_if_needed(
        settings, train, min_growth=min_growth, on_change=retrain_on_change, force=force_train
    )
    stage_done("train")

    curated = None
    album_dir = album
    if album_dir is None and demo_album:
        album_dir = str(settings.home / DEMO_ALBUM)
        print(demo_album_task(album_dir, seed))
    if album_dir is not None:
        curated = curate_flow(album=album_dir, config=CurateConfig(top=top), home=home_str)
    stage_done("curate")

    result = PipelineResult(
        scrape=scraped,
        generate=generated,
        ingest=ingested,
        features=featured,
        train=trained,
        curate=curated,
        where=locations(settings, None if curated is None else str(curated.out_dir)),
    )
    publish_summary(result, settings)
    logger.info("pipeline finished: %s\n%s", result.headline(), where_text(result.where))
    return result


def publish_summary(result: PipelineResult, settings: Settings) -> None:
    """The pipeline's Markdown artifact: what training did and where everything is."""
    trained = result.train.train
    run = None
    if trained is not None:
        experiment = trained.evaluation.experiment_id if trained.evaluation else None
        run = {"run_id": trained.run_id, "experiment_id": experiment, "version": trained.version}
    text = pipeline_markdown(
        result.headline(),
        result.train.reason,
        result.where,
        tracking_uri=settings.tracking_uri,
        model_name=settings.model_name,
        run=run,
        sheet=None if result.curate is None else str(result.curate.html_path),
    )
    create_markdown_artifact(text, key=PIPELINE_KEY, description="Pipeline summary")
