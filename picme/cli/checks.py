"""Inputs checked before a command imports its stage: a missing album or training table is
one line within a fraction of a second, not after seconds of importing torch, Lightning,
MLflow or OpenCV. The stages check the same things again for callers outside the CLI, with
the same words."""

from __future__ import annotations

from pathlib import Path

from picme.errors import InputError
from picme.lake.paths import lake_paths
from picme.settings import Settings


def need_training_table(settings: Settings) -> None:
    if settings.lake_uri:
        return  # the local folder is only a mirror: the stage pulls the bucket, then checks
    path = lake_paths(settings).training
    if not path.exists():
        raise InputError(f"{path}: no training table yet; run `picme features` first")


def need_lake(settings: Settings) -> None:
    """Only a lake that was never made: a media table missing from an existing lake may be
    an interrupted ingest's commit, which the features stage rolls forward first. An
    object-store lake is not judged by this worker's mirror (empty on a fresh worker): the
    stage pulls it, then checks."""
    if settings.lake_uri:
        return
    paths = lake_paths(settings)
    if not paths.root.exists():
        raise InputError(f"no media table at {paths.media}: run `picme ingest` first")


def need_album(album: Path) -> None:
    album = Path(album).expanduser()
    if not album.exists():
        raise InputError(f"album folder {album} does not exist; give the folder of your photos")
    if not album.is_dir():
        raise InputError(f"album {album} is a file, not a folder; give the folder that holds it")
