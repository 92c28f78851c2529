"""The lake on an S3-compatible object store (moto's server on 127.0.0.1): publish, pull,
the pointer written last, interrupted and concurrent publishes, no credential in sight."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from picme.errors import InputError
from picme.lake import store
from picme.lake.objstore import ObjectStoreError, parse_uri
from picme.lake.store import POINTER, LakeConflict, ObjectLake
from picme.settings import get_settings
from tests.services import free_port

SECRET = "picme-test-secret-9f3c1e"
ACCESS = "PICMETESTACCESSKEY42"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; the AWS_* variables point boto3 and pyarrow at the test server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)
    import boto3

    name = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def _keys(bucket: str) -> list[str]:
    import boto3

    resp = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def _pointer(bucket: str, prefix: str = "lake") -> dict[str, Any]:
    import boto3

    body = boto3.client("s3").get_object(Bucket=bucket, Key=f"{prefix}/{POINTER}")["Body"]
    data: dict[str, Any] = json.loads(body.read())
    return data


def _lake(bucket: str, mirror: Path) -> ObjectLake:
    return ObjectLake(parse_uri(f"s3://{bucket}/lake"), mirror)


def _write(mirror: Path, rel: str, rows: list[int]) -> Path:
    path = mirror / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"n": rows}), path)
    return path


def _rows(path: Path) -> list[int]:
    return list(pq.read_table(path).column("n").to_pylist())


def test_uri_parsing() -> None:
    loc = parse_uri("s3://my-bucket/some/prefix/")
    assert (loc.bucket, loc.prefix, loc.uri) == (
        "my-bucket",
        "some/prefix",
        "s3://my-bucket/some/prefix",
    )
    assert parse_uri("s3://my-bucket").key("posts", "g", "a.parquet") == "posts/g/a.parquet"
    for bad in ("/data/lake", "s3:/x/y", "gs://bucket/p", "s3://UPPER/p", "s3://b/../x"):
        with pytest.raises(InputError, match="PICME_LAKE_URI"):
            parse_uri(bad)


def test_on_disk_nothing_changes(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "home")
    assert settings.lake_uri is None and settings.lake_dir == tmp_path / "home" / "lake"
    store.pull(settings, store.FOLDERS)
    store.publish(settings, store.FOLDERS)
    assert not (tmp_path / "home").exists()  # nothing created, nothing contacted
    s3 = get_settings(home=tmp_path / "home", lake_uri="s3://bucket-x/p")
    assert s3.lake_dir == tmp_path / "home" / "cache" / "lake-mirror"


def test_publish_then_pull_on_another_worker(bucket: str, tmp_path: Path) -> None:
    a = _lake(bucket, tmp_path / "a")
    a.pull(store.INGEST)
    _write(a.mirror, "posts/posts.parquet", [1, 2])
    _write(a.mirror, "post_observations/part-1.parquet", [1])
    _write(a.mirror, "image_features/.parts/part-9.parquet", [9])  # local work in progress
    a.publish(store.INGEST)

    keys = _keys(bucket)
    assert f"lake/{POINTER}" in keys
    assert not any("/.parts/" in k or k.startswith("lake/_pending/") for k in keys)
    pointer = _pointer(bucket)
    posts = pointer["folders"]["posts"]
    assert (
        posts["files"]["posts.parquet"]["key"] == f"lake/posts/{posts['generation']}/posts.parquet"
    )
    # One publish, one generation: every table it changed carries the same id.
    assert pointer["folders"]["post_observations"]["generation"] == posts["generation"]

    b = _lake(bucket, tmp_path / "b")
    b.pull(store.FOLDERS)
    assert _rows(b.mirror / "posts/posts.parquet") == [1, 2]
    assert _rows(b.mirror / "post_observations/part-1.parquet") == [1]
    assert not (b.mirror / "image_features").exists()

    # A second publish replaces the old generation and removes its objects (PicMe's own).
    _write(b.mirror, "posts/posts.parquet", [1, 2, 3])
    b.publish(store.INGEST)
    keys = _keys(bucket)
    assert posts["files"]["posts.parquet"]["key"] not in keys
    assert f"lake/post_observations/{posts['generation']}/part-1.parquet" in keys  # unchanged
    a.pull(["posts"])
    assert _rows(a.mirror / "posts/posts.parquet") == [1, 2, 3]
    # A file the worker wrote but never published is not the lake: a pull drops it.
    _write(a.mirror, "post_observations/part-stray.parquet", [7])
    a.pull(["post_observations"])
    assert not (a.mirror / "post_observations/part-stray.parquet").exists()


def test_pointer_is_written_after_every_file_and_old_files_go_after_it(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = _lake(bucket, tmp_path / "m")
    lake.pull(["training"])
    _write(lake.mirror, "training/training.parquet", [1])
    lake.publish(["training"])
    calls: list[tuple[str, str]] = []
    for name in ("upload", "put_json", "delete"):
        real = getattr(lake.bucket, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            what = args[1] if _name == "upload" else args[0]
            calls.append((_name, str(what)))
            return _real(*args, **kw)

        monkeypatch.setattr(lake.bucket, name, spy)
    _write(lake.mirror, "training/training.parquet", [2])
    _write(lake.mirror, "training/pairs.parquet", [3])
    lake.publish(["training"])
    kinds = [k for k, _ in calls]
    first_put = kinds.index("put_json")
    assert kinds[:first_put] == ["upload", "upload"]
    assert kinds[first_put + 1 :] and set(kinds[first_put + 1 :]) == {"delete"}
    assert calls[first_put][1] == f"lake/{POINTER}"


def test_interrupted_publish_leaves_the_old_generation_whole(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = _lake(bucket, tmp_path / "m")
    lake.pull(store.INGEST)
    _write(lake.mirror, "posts/posts.parquet", [1])
    _write(lake.mirror, "media/media.parquet", [10])
    lake.publish(store.INGEST)
    before_keys, before_pointer = _keys(bucket), _pointer(bucket)

    _write(lake.mirror, "posts/posts.parquet", [1, 2])
    _write(lake.mirror, "media/media.parquet", [10, 20])
    real = lake.bucket.upload
    n = {"calls": 0}

    def dies_on_second(path: Path, key: str) -> None:
        n["calls"] += 1
        if n["calls"] == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the upload
        real(path, key)

    monkeypatch.setattr(lake.bucket, "upload", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        lake.publish(store.INGEST)
    assert _pointer(bucket) == before_pointer
    assert _keys(bucket) == before_keys  # its one upload and its pending record are gone

    reader = _lake(bucket, tmp_path / "reader")
    reader.pull(store.INGEST)
    assert _rows(reader.mirror / "posts/posts.parquet") == [1]
    assert _rows(reader.mirror / "media/media.parquet") == [10]


def test_killed_publish_leftovers_are_swept_later(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    client = boto3.client("s3")
    orphan = "lake/posts/deadbeef/posts.parquet"
    client.put_object(Bucket=bucket, Key=orphan, Body=b"half")
    client.put_object(
        Bucket=bucket, Key="lake/_pending/deadbeef.json", Body=json.dumps({"keys": [orphan]})
    )
    client.put_object(Bucket=bucket, Key="lake/posts/user-file.txt", Body=b"not picme's")
    lake = _lake(bucket, tmp_path / "m")
    lake.pull(["media"])
    _write(lake.mirror, "media/media.parquet", [1])
    lake.publish(["media"])
    assert orphan in _keys(bucket)  # younger than a day: may be a live upload
    monkeypatch.setattr(store, "PENDING_TTL", timedelta(0))
    _write(lake.mirror, "media/media.parquet", [2])
    lake.publish(["media"])
    keys = _keys(bucket)
    assert orphan not in keys and "lake/_pending/deadbeef.json" not in keys
    assert "lake/posts/user-file.txt" in keys  # never listed by PicMe: never deleted


def test_a_pointer_put_whose_answer_was_lost_is_still_this_runs_commit(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = _lake(bucket, tmp_path / "m")
    lake.pull(["posts"])
    _write(lake.mirror, "posts/posts.parquet", [1])
    lake.publish(["posts"])
    first = _keys(bucket)
    _write(lake.mirror, "posts/posts.parquet", [1, 2])
    real = lake.bucket.put_json
    answers: list[bool] = []

    def answer_lost(key: str, data: dict[str, Any], *, if_match: str | None) -> bool:
        # The put lands, its answer times out, and boto's retry of the same conditional
        # put is refused (412): the caller sees False.
        landed = real(key, data, if_match=if_match)
        answers.append(landed)
        return False if len(answers) == 1 else landed

    monkeypatch.setattr(lake.bucket, "put_json", answer_lost)
    lake.publish(["posts"])
    assert answers == [True]  # no second put: the pointer already was this run's
    reader = _lake(bucket, tmp_path / "reader")
    reader.pull(["posts"])
    assert _rows(reader.mirror / "posts/posts.parquet") == [1, 2]
    live = {e["key"] for e in _pointer(bucket)["folders"]["posts"]["files"].values()}
    keys = set(_keys(bucket))
    assert live <= keys  # every object the pointer lists is there
    assert not (set(first) - {f"lake/{POINTER}"}) & keys  # the replaced generation is gone
    assert not [k for k in keys if k.startswith("lake/_pending/")]


@pytest.mark.parametrize("body", ['{"folders": []}', "[1, 2]", '"text"'])
def test_a_pointer_that_is_not_picmes_is_refused_and_kept(
    bucket: str, tmp_path: Path, body: str
) -> None:
    import boto3

    boto3.client("s3").put_object(Bucket=bucket, Key=f"lake/{POINTER}", Body=body.encode())
    lake = _lake(bucket, tmp_path / "m")
    with pytest.raises(ObjectStoreError, match="is not a PicMe lake pointer"):
        lake.pull(["posts"])
    lake.mirror.mkdir(parents=True, exist_ok=True)
    _write(lake.mirror, "posts/posts.parquet", [1])
    with pytest.raises(ObjectStoreError, match="is not a PicMe lake pointer"):
        lake.publish(["posts"])
    got = boto3.client("s3").get_object(Bucket=bucket, Key=f"lake/{POINTER}")["Body"].read()
    assert got == body.encode()
    assert _keys(bucket) == [f"lake/{POINTER}"]


def test_concurrent_writers(bucket: str, tmp_path: Path) -> None:
    a, b = _lake(bucket, tmp_path / "a"), _lake(bucket, tmp_path / "b")
    a.pull(store.FOLDERS)
    b.pull(store.FOLDERS)
    _write(a.mirror, "posts/posts.parquet", [1])
    _write(b.mirror, "posts/posts.parquet", [2])
    _write(b.mirror, "image_features/image_features.parquet", [5])
    a.publish(["posts"])
    keys = _keys(bucket)
    with pytest.raises(LakeConflict, match="another worker published posts"):
        b.publish(["posts"])
    assert _keys(bucket) == keys  # the loser's uploads are removed
    # Different tables merge: b's features land beside a's posts.
    b.publish(["image_features"])
    folders = _pointer(bucket)["folders"]
    assert set(folders) == {"posts", "image_features"}
    c = _lake(bucket, tmp_path / "c")
    c.pull(store.FOLDERS)
    assert _rows(c.mirror / "posts/posts.parquet") == [1]
    assert _rows(c.mirror / "image_features/image_features.parquet") == [5]


def test_reader_racing_a_publish_sees_one_whole_generation(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = _lake(bucket, tmp_path / "w")
    writer.pull(["training"])
    _write(writer.mirror, "training/training.parquet", [1])
    _write(writer.mirror, "training/pairs.parquet", [1])
    writer.publish(["training"])

    reader = _lake(bucket, tmp_path / "r")
    real = reader.bucket.download
    raced = {"done": False}

    def download(key: str, path: Path) -> bool:
        if not raced["done"]:
            # Between the reader's pointer read and its first download, a new set lands and
            # the old objects are deleted.
            raced["done"] = True
            _write(writer.mirror, "training/training.parquet", [2])
            _write(writer.mirror, "training/pairs.parquet", [2])
            writer.publish(["training"])
        return real(key, path)

    monkeypatch.setattr(reader.bucket, "download", download)
    reader.pull(["training"])
    assert _rows(reader.mirror / "training/training.parquet") == [2]
    assert _rows(reader.mirror / "training/pairs.parquet") == [2]
    assert not [p for p in (tmp_path / "r").iterdir() if p.name.startswith(".training")]


def test_duckdb_reads_a_table_from_the_bucket_without_httpfs(bucket: str, tmp_path: Path) -> None:
    import duckdb

    settings = get_settings(home=tmp_path / "home", lake_uri=f"s3://{bucket}/lake")
    store.pull(settings, store.INGEST)
    _write(settings.lake_dir, "post_observations/part-a.parquet", [1, 2])
    _write(settings.lake_dir, "post_observations/part-b.parquet", [3])
    store.publish(settings, store.INGEST)
    observations = store.table_dataset(settings, "post_observations")  # noqa: F841
    con = duckdb.connect()
    total = con.execute("select sum(n) from observations").fetchone()
    assert total == (6,)
    assert "httpfs" not in {
        r[0]
        for r in con.execute(
            "select extension_name from duckdb_extensions() where loaded"
        ).fetchall()
    }


def test_failures_are_one_line_without_credentials(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, boto's request logs included
    lake = _lake(bucket, tmp_path / "m")
    lake.pull(store.INGEST)
    _write(lake.mirror, "posts/posts.parquet", [1])
    lake.publish(store.INGEST)
    pointer_text = json.dumps(_pointer(bucket))

    errors: list[str] = []
    with pytest.raises(ObjectStoreError) as missing:
        _lake("no-such-bucket-picme", tmp_path / "x").pull(["posts"])
    errors.append(str(missing.value))
    assert "does not exist" in errors[-1]

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET + "-wrong")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ObjectStoreError) as dead:
        _lake(bucket, tmp_path / "y").pull(["posts"])
    errors.append(str(dead.value))
    assert "cannot reach the object store at http://127.0.0.1:" in errors[-1]

    # boto's own DEBUG log shows the key id in signed headers; the secret appears nowhere,
    # and neither appears in PicMe's messages, logs, mirror state or pointer.
    assert SECRET not in caplog.text
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("picme")]
    assert ours  # the publish said where it published
    texts = [*errors, *ours, pointer_text, *(p.read_text() for p in tmp_path.rglob("*.json"))]
    for text in texts:
        assert SECRET not in text and ACCESS not in text
    assert all("\n" not in e for e in errors)


def test_cli_says_one_line_for_a_bad_uri_or_a_missing_bucket(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app

    raw = tmp_path / "raw"
    raw.mkdir()
    monkeypatch.setenv("PICME_HOME", str(tmp_path / "home"))
    for uri, expected in (
        ("/srv/lake", "give s3://bucket/prefix"),
        ("s3://no-such-bucket-here/lake", "'no-such-bucket-here' does not exist"),
    ):
        monkeypatch.setenv("PICME_LAKE_URI", uri)
        res = CliRunner().invoke(app, ["ingest", str(raw)])
        assert res.exit_code == 2, res.output
        assert expected in res.output and "Traceback" not in res.output
        assert SECRET not in res.output and ACCESS not in res.output


def test_an_ingest_killed_after_deciding_is_redone_not_rolled_forward(
    bucket: str, tmp_path: Path
) -> None:
    from picme.lake.commit import RECORD

    lake = _lake(bucket, tmp_path / "m")
    lake.pull(store.INGEST)
    _write(lake.mirror, "posts/posts.parquet", [1])
    lake.publish(store.INGEST)
    # A dead writer's decided commit: the bucket never saw it, so it must not reappear.
    staged = _write(lake.mirror, "posts/.posts.parquet.999999.staged.tmp", [1, 2])
    (lake.mirror / RECORD).write_text(
        json.dumps(
            {"pid": 999_999_999, "files": [[str(staged), str(lake.mirror / "posts/posts.parquet")]]}
        )
    )
    lake.pull(store.INGEST)
    assert not (lake.mirror / RECORD).exists()
    assert _rows(lake.mirror / "posts/posts.parquet") == [1]
    # A live writer's record (this process) is its own business.
    (lake.mirror / RECORD).write_text(json.dumps({"pid": os.getpid(), "files": []}))
    lake.pull(store.INGEST)
    assert (lake.mirror / RECORD).exists()


def test_picme_sql_on_a_fresh_worker_queries_the_published_lake(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app

    a = _lake(bucket, tmp_path / "a")
    a.pull(store.INGEST)
    _write(a.mirror, "posts/posts.parquet", [1, 2, 3])
    a.publish(store.INGEST)
    monkeypatch.setenv("PICME_HOME", str(tmp_path / "fresh-worker"))
    monkeypatch.setenv("PICME_LAKE_URI", f"s3://{bucket}/lake")
    res = CliRunner().invoke(app, ["sql", "--csv", "-c", "select sum(n) as total from posts"])
    assert res.exit_code == 0, res.output
    assert res.output.split() == ["total", "6"]


def test_feedback_on_an_object_store_lake_reaches_every_worker(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from picme.lake import feedback
    from picme.settings import get_settings

    def parts() -> list[str]:
        return [k for k in _keys(bucket) if k.startswith("lake/feedback/part-")]

    monkeypatch.setenv("PICME_LAKE_URI", f"s3://{bucket}/lake")
    album = tmp_path / "album"
    reviewer = get_settings(home=tmp_path / "reviewer")
    feedback.record(reviewer, album, "a.jpg", "aa", "keep")
    feedback.record(get_settings(home=tmp_path / "second-tab"), album, "b.jpg", "bb", "star")
    assert len(parts()) == 2  # each decision is in the bucket when record returns

    trainer = get_settings(home=tmp_path / "trainer")
    now = feedback.current(trainer, album).to_pylist()
    assert [(r["path"], r["decision"]) for r in now] == [("a.jpg", "keep"), ("b.jpg", "star")]

    # An upload lost on the way (here: the object removed) is sent up by the next read.
    before = set(parts())
    feedback.record(trainer, album, "c.jpg", "cc", "reject")
    (lost,) = set(parts()) - before
    boto3.client("s3").delete_object(Bucket=bucket, Key=lost)
    feedback.current(trainer, album)
    assert lost in parts()
    assert len(feedback.current(reviewer, album)) == 3
