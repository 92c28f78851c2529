"""Every stage with the lake in a bucket (PICME_LAKE_URI, moto's S3 server on 127.0.0.1):
ingest -> features -> build -> train -> curate; the tables are published in the bucket, a
second worker with an empty disk reads and rebuilds them, and nothing of the lake lands
on local disk outside the worker's mirror (a cache)."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.trainingdata import seed_tracking_store, torch_one_thread  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_one_thread")]


@pytest.fixture
def s3_lake(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """PICME_LAKE_URI in a fresh bucket of a local S3-compatible server."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "picme-e2e-access")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "picme-e2e-secret")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        import boto3

        bucket = f"picme-{uuid.uuid4().hex[:10]}"
        boto3.client("s3").create_bucket(Bucket=bucket)
        monkeypatch.setenv("PICME_LAKE_URI", f"s3://{bucket}/team/lake")
        yield bucket
    finally:
        server.stop()


def _objects(bucket: str) -> dict[str, bytes]:
    import boto3

    client = boto3.client("s3")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def _pointer(objects: dict[str, bytes]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(objects["team/lake/_lake.json"])
    return data


def _check_bucket(bucket: str) -> dict[str, Any]:
    """Every table is published, every listed object is there, nothing half-done is."""
    objects = _objects(bucket)
    pointer = _pointer(objects)
    assert set(pointer["folders"]) == {
        "posts",
        "profiles",
        "media",
        "post_observations",
        "image_features",
        "training",
    }
    training = set(pointer["folders"]["training"]["files"])
    assert {"training.parquet", "pairs.parquet", "exclusions.parquet", "split.json"} <= training
    listed = {e["key"] for f in pointer["folders"].values() for e in f["files"].values()}
    data = {k for k in objects if not k.startswith("team/lake/_")}
    assert data == listed  # every published file is in the bucket, and nothing else of ours
    assert not [k for k in objects if k.startswith("team/lake/_pending/")]
    return pointer


def _check_local_disk(home: Path, lake_dir: Path) -> None:
    """On local disk: raw/ (the worker's downloads), the mirror under cache/, MLflow's
    store and the DuckDB views file; no lake/ folder."""
    assert not (home / "lake").exists()
    assert lake_dir == home / "cache" / "lake-mirror"
    parquet = [p.relative_to(home) for p in home.rglob("*.parquet")]
    assert parquet and all(p.parts[0] in ("cache", "mlartifacts") for p in parquet), parquet


def test_every_stage_reads_and_writes_the_lake_in_a_bucket(
    s3_lake: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from picme.curate.run import curate_album
    from picme.dataset.build import build_training_table
    from picme.dataset.fingerprint import table_fingerprint
    from picme.features.table import update_image_features
    from picme.lake.ingest import ingest_raw
    from picme.models.table import load_training_set
    from picme.settings import get_settings
    from picme.synthetic.album import generate_album
    from picme.synthetic.instagram import generate_sample
    from picme.training.config import TrainConfig
    from picme.training.run import train_and_register

    home = tmp_path / "worker-a"
    monkeypatch.setenv("PICME_HOME", str(home))
    settings = get_settings(workers=1)
    assert settings.lake_uri == f"s3://{s3_lake}/team/lake"
    seed_tracking_store(home)
    generate_sample(settings.raw_dir, n_accounts=5, posts_per_account=16, seed=3, image_size=48)

    ingest_raw([settings.raw_dir], settings)
    objects = _pointer(_objects(s3_lake))["folders"]
    assert set(objects) == {"posts", "profiles", "media", "post_observations"}
    # One ingest, one generation: its tables appeared together.
    assert len({f["generation"] for f in objects.values()}) == 1

    features = update_image_features(settings, workers=1)
    assert features.n_new > 0
    table = build_training_table(settings)
    assert table.rows > 30
    result = train_and_register(TrainConfig(model="linear-pairwise"), settings)
    assert result.version == "1"
    album = tmp_path / "album"
    generate_album(album, n_bursts=2, burst_size=2, n_singles=2, size=(96, 72))
    curated = curate_album(album, top=3, workers=1, settings=settings)
    assert curated.picks

    pointer = _check_bucket(s3_lake)
    _check_local_disk(home, settings.lake_dir)

    # A second worker, nothing on its disk but its own raw copy: it reads the published
    # training set, and a rebuild there publishes a new generation over the old one.
    home_b = tmp_path / "worker-b"
    shutil.copytree(settings.raw_dir, home_b / "raw")
    monkeypatch.setenv("PICME_HOME", str(home_b))
    other = get_settings(workers=1)
    # A scheduled retrain's decision on a fresh worker sees the published table.
    assert table_fingerprint(other)["fingerprint"] == table_fingerprint(settings)["fingerprint"]
    frame, pairs = load_training_set(other)
    assert len(frame) == table.rows and pairs is not None
    cached = update_image_features(other, workers=1)
    assert cached.n_new == 0 and cached.n_cached == features.n_total  # from the bucket
    rebuilt = build_training_table(other)
    assert rebuilt.rows == table.rows
    after = _pointer(_objects(s3_lake))
    assert (
        after["folders"]["training"]["generation"] != pointer["folders"]["training"]["generation"]
    )
    assert after["folders"]["image_features"] == pointer["folders"]["image_features"]
    old_keys = {e["key"] for e in pointer["folders"]["training"]["files"].values()}
    assert not old_keys & set(_objects(s3_lake))  # the replaced generation is gone
