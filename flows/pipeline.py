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
from prefect.artifacts import create_markdown_artifact, create_progress_artifact
from prefect.artifacts import update_progress_artifact as _update_progress

from flows.common import PIPELINE_KEY, md_escape, resolve_settings
from flows.train import TrainOptions
from picme.registry.retrain import DEFAULT_MIN_GROWTH
from picme.settings import Settings

DEMO_ALBUM = "demo-album"
STAGES = ("data", "ingest", "features", "train", "curate")


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
    """Where each layer lives, and the command that opens the MLflow UI on it."""
    uri = settings.tracking_uri
    where = {
        "PICME_HOME": str(settings.home),
        "raw": str(settings.raw_dir),
        "lake": str(settings.lake_dir),
        "training table": str(settings.lake_dir / "training" / "training.parquet"),
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
    train: TrainOptions | None = None,
    min_growth: float = DEFAULT_MIN_GROWTH,
    retrain_on_change: bool = True,
    force_train: bool = False,
    album: str | None = None,
    demo_album: bool = True,
    top: int = 8,
) -> dict[str, Any]:
    """Run every stage. ``generate``: None generates sample data only when raw/ is empty
    and nothing is to be scraped; True always; False never. ``album``: a folder to curate;
    without it ``demo_album`` curates a generated album under PICME_HOME."""
    from flows.curate import curate_flow
    from flows.features import features_flow
    from flows.ingest import ingest_flow
    from flows.retrain import train_if_needed
    from flows.scrape import scrape_flow

    logger = get_run_logger()
    settings = resolve_settings(home)
    settings.ensure_dirs()
    home_str = str(settings.home)
    progress_id = cast(UUID, create_progress_artifact(0.0, key=f"{PIPELINE_KEY}-progress"))

    def stage_done(name: str) -> None:
        _update_progress(progress_id, 100.0 * (STAGES.index(name) + 1) / len(STAGES))

    out: dict[str, Any] = {}
    if profiles or hashtags:
        out["scrape"] = scrape_flow(
            profiles=profiles,
            hashtags=hashtags,
            max_posts=max_posts,
            since=since,
            login=login,
            home=home_str,
        )
    wants_sample = generate is True or (
        generate is None and not (profiles or hashtags) and _raw_is_empty(settings.raw_dir)
    )
    if wants_sample:
        out["generate"] = generate_task(
            str(settings.raw_dir), accounts, posts, seed, sample_image_size
        )
        print(out["generate"])
    stage_done("data")

    out["ingest"] = ingest_flow(home=home_str)
    stage_done("ingest")
    out["features"] = features_flow(home=home_str)
    stage_done("features")
    out["train"] = train_if_needed(
        settings,
        train or TrainOptions(),
        min_growth=min_growth,
        on_change=retrain_on_change,
        force=force_train,
    )
    stage_done("train")

    curation_dir = None
    album_dir = album
    if album_dir is None and demo_album:
        album_dir = str(settings.home / DEMO_ALBUM)
        print(demo_album_task(album_dir, seed))
    if album_dir is not None:
        out["curate"] = curate_flow(album=album_dir, top=top, home=home_str)
        curation_dir = out["curate"]["out_dir"]
    stage_done("curate")

    out["where"] = locations(settings, curation_dir)
    trained = out["train"]
    headline = (
        f"trained and registered version {trained['train']['version']}"
        if trained["trained"]
        else "training skipped"
    )
    lines = [
        "# PicMe pipeline",
        "",
        f"{md_escape(headline)}: {md_escape(trained['reason'])}",
        "",
        "| what | where |",
        "|---|---|",
    ]
    lines += [f"| {md_escape(k)} | `{md_escape(v)}` |" for k, v in out["where"].items()]
    create_markdown_artifact("\n".join(lines), key=PIPELINE_KEY, description="Pipeline summary")
    logger.info("pipeline finished: %s\n%s", headline, where_text(out["where"]))
    return out
