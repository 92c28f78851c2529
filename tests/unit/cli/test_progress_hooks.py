"""The long steps report to the installed progress reporter (what `picme` shows as bars)."""

from __future__ import annotations

from pathlib import Path

from picme.dataset.config import FeaturesConfig
from picme.dataset.run import run_features
from picme.lake.config import IngestConfig
from picme.lake.ingest import ingest
from picme.settings import get_settings
from picme.synthetic.config import GenerateConfig
from picme.synthetic.instagram import generate_from_config
from picme.util import progress
from tests.unit.util.test_progress import Recorder


def test_ingest_and_features_report_their_steps(picme_home: Path) -> None:
    settings = get_settings(workers=1)
    generate_from_config(GenerateConfig(accounts=3, posts=12, image_size=48), settings.raw_dir)
    rec = Recorder()
    with progress.reporting(rec):
        ingest(IngestConfig(workers=1), settings)
        run_features(FeaturesConfig(), settings)
    starts = {e[1]: e[2] for e in rec.events if e[0] == "start"}
    n_images = len(list(settings.raw_dir.rglob("*.jpg")))
    assert starts["ingest: checking images"] == n_images
    assert starts["image features"] == n_images
    assert starts["ingest: reading posts"] >= 6
    assert "building the training table" in starts
    advanced = sum(
        e[2] for e in rec.events if e[0] == "advance" and e[1] == "ingest: checking images"
    )
    assert advanced == n_images
    ends = [e[1] for e in rec.events if e[0] == "end"]
    assert set(ends) == set(starts)
