"""Curate flow: score an album folder, group near-duplicates, pick and explain highlights.

The album is read, never modified; images are processed in batches inside
picme.curate.run (one task for the whole album, not one per image). The options are the
CLI's, as one ``config`` parameter (picme.curate.config.CurateConfig); the result is the
library's CurationResult.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.common import CURATION_KEY, load_settings, resolve_settings, settings_payload
from picme.curate.config import CurateConfig
from picme.curate.run import CurationResult, curate
from picme.registry.report import curation_markdown


@task(name="curate-album")
def curate_task(settings: dict[str, Any], album: str, config: CurateConfig) -> CurationResult:
    return curate(Path(album), config, settings=load_settings(settings), progress=False)


def _artifact(album: str, result: CurationResult) -> str:
    version = f" v{result.scorer_version}" if result.scorer_version else ""
    return curation_markdown(
        album,
        scorer=f"{result.scorer_name}{version}",
        highlights=len(result.picks),
        out_dir=str(result.out_dir),
        sheet=str(result.html_path),
        summary=result.summary(),
    )


@flow(name="curate", log_prints=True)
def curate_flow(
    album: str,
    config: CurateConfig = CurateConfig(),
    home: str | None = None,
) -> CurationResult:
    """Pick the ``config.top`` highlights of ``album`` with ``config.model`` (default:
    the champion).

    Args:
        album: The album folder to curate (read recursively, never modified).
        config: The curation options, as ``picme curate`` takes them.
        home: PICME_HOME for this run (default: the worker's environment).
    """
    settings = resolve_settings(home)
    album_path = str(Path(album).expanduser().resolve())
    result = curate_task(settings_payload(settings), album_path, config)
    create_markdown_artifact(
        _artifact(album_path, result), key=CURATION_KEY, description="Curation summary"
    )
    print(result.summary())
    return result
