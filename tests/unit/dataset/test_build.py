"""picme.dataset end to end on a lake written in the test: the contract tables, counts that
add up, no leak across splits, clear errors, and nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from picme.dataset import contract, outputs
from picme.dataset.build import build_training_table
from picme.dataset.contract import BASE_COLUMNS, METADATA_COLUMNS, PAIR_COLUMNS
from picme.dataset.fingerprint import table_fingerprint
from picme.errors import InputError
from picme.features.extractors import FEATURE_COLUMNS
from picme.settings import Settings, get_settings
from tests.buildfixtures import NOW, account_posts, lake_tables, phash_of, post, sha_of, write_lake


def _rows(n_accounts: int = 6, per: int = 12) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(n_accounts):
        rows += account_posts(
            f"acct{i}", per, start=NOW - timedelta(days=90, minutes=i), followers=500 * (i + 1)
        )
    return rows


def _lake(home: Path, rows: list[dict[str, Any]], **kw: Any) -> Settings:
    settings = get_settings()
    assert settings.home == home
    write_lake(settings.lake_dir, *lake_tables(rows, **kw))
    return settings


def _outputs(settings: Settings) -> dict[str, Path]:
    out = settings.lake_dir / "training"
    return {n: out / f"{n}.parquet" for n in ("training", "pairs", "exclusions")} | {
        "split": out / "split.json"
    }


def test_build_writes_the_contract_tables(picme_home: Path) -> None:
    rows = _rows()
    rows += [
        post("hidden", "acct0", NOW - timedelta(days=50), None),
        post("video", "acct1", NOW - timedelta(days=50), 10, is_video=True),
        post("young", "acct2", NOW - timedelta(hours=5), 10),
        post("lonely-0", "lonely", NOW - timedelta(days=50), 10),
    ]
    settings = _lake(picme_home, rows)
    report = build_training_table(settings, now=NOW)
    paths = _outputs(settings)

    training = pq.read_table(paths["training"])
    assert training.column_names == BASE_COLUMNS + METADATA_COLUMNS + FEATURE_COLUMNS
    assert training.schema.field("taken_at").type == pa.timestamp("us", tz="UTC")
    assert training.num_rows == report.rows == 6 * (12 - 3)
    assert all(col.null_count == 0 for col in training.columns)
    assert set(training.column("label").to_pylist()) <= {0, 1}
    assert set(training.column("label_rel").to_pylist()) <= {0, 1}

    # Every post read is either in the table or excluded once, with its reason.
    exclusions = pq.read_table(paths["exclusions"]).to_pylist()
    assert report.rows + len(exclusions) == report.posts_in == len(rows)
    assert not {e["shortcode"] for e in exclusions} & set(training.column("shortcode").to_pylist())
    reasons = {e["shortcode"]: e["reason"] for e in exclusions}
    assert (reasons["hidden"], reasons["video"], reasons["young"]) == (
        "hidden_likes",
        "video",
        "unsettled",
    )
    assert reasons["lonely-0"] == "no_baseline"
    assert report.excluded == {"hidden_likes": 1, "video": 1, "unsettled": 1, "no_baseline": 19}
    assert set(report.excluded) <= set(contract.REASONS)

    # The split: no account on two sides, recorded with the table.
    sides: dict[str, set[str]] = {}
    for owner, split in zip(
        training.column("owner_username").to_pylist(),
        training.column("split").to_pylist(),
        strict=True,
    ):
        sides.setdefault(owner, set()).add(split)
    assert all(len(s) == 1 for s in sides.values())
    record = json.loads(paths["split"].read_text())
    assert record["strategy"] == "account" and record["seed"] == settings.seed
    assert record["counts"] == report.split_rows and sum(record["counts"].values()) == report.rows
    assert record["accounts_per_split"] == {"train": 4, "val": 1, "test": 1}
    assert record["fingerprint"] == report.fingerprint
    assert record["params"]["now"] == NOW.isoformat()

    pairs = pq.read_table(paths["pairs"])
    assert pairs.column_names == PAIR_COLUMNS and pairs.num_rows == report.pairs > 0
    split_of = dict(
        zip(
            training.column("shortcode").to_pylist(),
            training.column("split").to_pylist(),
            strict=True,
        )
    )
    for p in pairs.to_pylist():
        assert split_of[p["shortcode_a"]] == split_of[p["shortcode_b"]] == p["split"]

    assert table_fingerprint(settings) == {
        "rows": report.rows,
        "accounts": 6,
        "fingerprint": report.fingerprint,
    }
    assert f"{report.rows} rows from 6 accounts" in report.summary()
    assert not list((settings.lake_dir / "training").glob(".*.tmp"))

    # Views in picme.duckdb read the lake, for `duckdb picme-data/picme.duckdb`.
    assert report.views_updated
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in ("training", "pairs", "posts", "exclusions", "media", "image_features")
        }
    assert counts["training"] == report.rows and counts["pairs"] == report.pairs
    assert counts["posts"] == len(rows) and counts["exclusions"] == report.n_excluded
    assert counts["media"] == counts["image_features"] == len(rows)


def test_rebuild_is_reproducible_and_follows_settings(picme_home: Path) -> None:
    settings = _lake(picme_home, _rows())
    first = build_training_table(settings, now=NOW)
    again = build_training_table(settings, now=NOW)
    assert again.fingerprint == first.fingerprint
    lowered = build_training_table(get_settings(engagement_threshold=0.01), now=NOW)
    assert lowered.fingerprint != first.fingerprint
    assert set(pq.read_table(_outputs(settings)["training"]).column("label").to_pylist()) == {1}


def test_time_split_keeps_test_newer(picme_home: Path) -> None:
    settings = _lake(picme_home, _rows())
    report = build_training_table(get_settings(split="time"), now=NOW)
    table = pq.read_table(_outputs(settings)["training"]).to_pylist()
    newest_train = max(r["taken_at"] for r in table if r["split"] != "test")
    assert all(r["taken_at"] > newest_train for r in table if r["split"] == "test")
    assert json.loads(_outputs(settings)["split"].read_text())["strategy"] == "time"
    assert report.split_accounts["test"] == 6  # every account has recent posts


def test_accounts_sharing_a_photo_go_to_one_side_and_nothing_is_dropped(
    picme_home: Path,
) -> None:
    rows = _rows()
    settings = _lake(picme_home, rows)
    # Find which posts land in test, then give two train posts copies of test images.
    first = build_training_table(settings, now=NOW)
    table = pq.read_table(_outputs(settings)["training"]).to_pylist()
    tests = [r for r in table if r["split"] == "test"][:2]
    trains = [r for r in table if r["split"] == "train"][:2]
    media = {
        trains[0]["shortcode"]: {"sha256": tests[0]["sha256"]},
        trains[1]["shortcode"]: {"sha256": "near-copy"},
    }
    near = phash_of(tests[1]["shortcode"]) ^ 0b1011  # three bits away
    features = {trains[1]["shortcode"]: {"phash_int": near}}
    write_lake(
        settings.lake_dir,
        *lake_tables(rows, media_overrides=media, feature_overrides=features),
    )
    second = build_training_table(settings, now=NOW)
    # Nothing is dropped: the accounts that share a photo are placed on one side together.
    assert second.rows == first.rows
    assert "same_image_across_splits" not in second.excluded
    assert "near_duplicate_across_splits" not in second.excluded
    assert second.guarantee == "account"
    out = pq.read_table(_outputs(settings)["training"]).to_pylist()
    side = {r["shortcode"]: r["split"] for r in out}
    account_side = {r["owner_username"]: r["split"] for r in out}
    assert side[trains[0]["shortcode"]] == side[tests[0]["shortcode"]]
    assert side[trains[1]["shortcode"]] == side[tests[1]["shortcode"]]
    assert all(account_side[r["owner_username"]] == r["split"] for r in out)
    assert tests[1]["sha256"] == sha_of(tests[1]["shortcode"])


def test_missing_inputs_are_one_line_errors(picme_home: Path) -> None:
    settings = get_settings()
    with pytest.raises(InputError, match=r"posts\.parquet does not exist: run `picme ingest`"):
        build_training_table(settings, now=NOW)
    p, m, f = lake_tables(_rows(2, 5))
    write_lake(settings.lake_dir, p, m, f)
    (settings.lake_dir / "image_features" / "image_features.parquet").unlink()
    with pytest.raises(
        InputError, match="image_features.parquet does not exist: run `picme features`"
    ):
        build_training_table(settings, now=NOW)


@pytest.mark.parametrize(
    ("table", "change", "message"),
    [
        (
            "posts",
            lambda t: t.drop_columns(["followers"]),
            "posts.parquet: column 'followers' is missing",
        ),
        (
            "posts",
            lambda t: t.set_column(4, "likes", t.column("likes").cast(pa.string())),
            "posts.parquet: column 'likes' has type string, expected number",
        ),
        (
            "image_features",
            lambda t: t.drop_columns(["sharpness"]),
            "column 'sharpness' is missing",
        ),
        (
            "media",
            lambda t: t.drop_columns(["sha256"]),
            "media.parquet: column 'sha256' is missing",
        ),
    ],
)
def test_schema_checks_name_the_file_and_column(
    picme_home: Path, table: str, change: Any, message: str
) -> None:
    settings = get_settings()
    tables = dict(zip(("posts", "media", "image_features"), lake_tables(_rows(3, 8)), strict=True))
    tables[table] = change(tables[table])
    write_lake(settings.lake_dir, tables["posts"], tables["media"], tables["image_features"])
    with pytest.raises(InputError, match=message):
        build_training_table(settings, now=NOW)


def test_optional_columns_may_be_missing(picme_home: Path) -> None:
    p, m, f = lake_tables(_rows(3, 8))
    p = p.drop_columns(["caption", "hashtags", "observed_at", "location"])
    settings = get_settings()
    write_lake(settings.lake_dir, p, m, f)
    report = build_training_table(settings, now=NOW)
    assert report.rows == 3 * 5
    assert any("caption" in w and "observed_at" in w for w in report.warnings)
    table = pq.read_table(_outputs(settings)["training"])
    assert set(table.column("caption_len").to_pylist()) == {0.0}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"split": "random"}, "split 'random' is unknown"),
        ({"test_fraction": 0.0}, "test_fraction 0.0"),
        ({"test_fraction": 0.6, "val_fraction": 0.5}, "test \\+ val < 1"),
        ({"baseline_window": 0}, "baseline_window"),
        ({"pair_window_days": -1}, "pair_window_days"),
    ],
)
def test_bad_settings_are_named(picme_home: Path, override: dict[str, Any], message: str) -> None:
    settings = _lake(picme_home, _rows(3, 8))
    with pytest.raises(InputError, match=message):
        build_training_table(settings.model_copy(update=override), now=NOW)


def test_failed_builds_keep_the_previous_table(
    picme_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _lake(picme_home, _rows())
    build_training_table(settings, now=NOW)
    before = {n: p.read_bytes() for n, p in _outputs(settings).items()}

    # One account left: the account split cannot hold a test side.
    write_lake(settings.lake_dir, *lake_tables(_rows(1, 12)))
    with pytest.raises(InputError, match="at least 2 usable accounts"):
        build_training_table(settings, now=NOW)
    # Nothing usable at all: the error says what was excluded.
    hidden = [dict(r, likes=None) for r in _rows(3, 8)]
    write_lake(settings.lake_dir, *lake_tables(hidden))
    with pytest.raises(InputError, match=r"no post is usable .*hidden_likes 24"):
        build_training_table(settings, now=NOW)
    # A crash while writing: the new generation is published only once all is written.
    write_lake(settings.lake_dir, *lake_tables(_rows(4, 8)))

    def boom(*args: Any, **kwargs: Any) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(outputs.json, "dumps", boom)
    with pytest.raises(OSError, match="disk full"):
        build_training_table(settings, now=NOW)
    assert {n: p.read_bytes() for n, p in _outputs(settings).items()} == before
    # No temp file or staging folder is left; the training set keeps its manifest.
    assert [p.name for p in (settings.lake_dir / "training").glob(".*")] == [".picme-manifest.json"]
    assert not list(settings.lake_dir.glob(".training.*"))


def test_a_locked_duckdb_file_does_not_fail_the_build(picme_home: Path) -> None:
    settings = _lake(picme_home, _rows(3, 8))
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(60)",
            str(settings.duckdb_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        report = build_training_table(settings, now=NOW)
    finally:
        holder.kill()
        holder.wait()
    assert report.rows == 15 and not report.views_updated
    assert any("views in" in w and "not updated" in w for w in report.warnings)
    assert _outputs(settings)["training"].is_file()


def test_table_fingerprint_needs_a_readable_table(picme_home: Path) -> None:
    settings = get_settings()
    with pytest.raises(InputError, match="training.parquet does not exist: run `picme features`"):
        table_fingerprint(settings)
    path = settings.lake_dir / "training" / "training.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(InputError, match=r"training.parquet cannot be read .*picme features"):
        table_fingerprint(settings)


def test_features_command_runs_the_build(picme_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import picme.dataset.run
    from picme.cli.app import app

    _lake(picme_home, _rows(3, 8))
    calls: list[Settings] = []

    class Done:
        def summary(self) -> str:
            return "images: stubbed"

    def fake_update(settings: Settings | None = None, **kw: Any) -> Done:
        assert settings is not None
        calls.append(settings)
        return Done()

    monkeypatch.setattr(picme.dataset.run, "update_image_features", fake_update)
    monkeypatch.setenv("PICME_INCLUDE_VIDEOS", "1")
    result = CliRunner().invoke(app, ["features", "--split", "time", "--threshold", "0.5"])
    assert result.exit_code == 0, result.output
    assert "images: stubbed" in result.output and "training table:" in result.output
    assert calls[0].split == "time" and calls[0].engagement_threshold == 0.5
    assert calls[0].include_videos  # the environment holds when the flag is not given
    bad = CliRunner().invoke(app, ["features", "--split", "sideways"])
    assert bad.exit_code == 2 and "split 'sideways' is unknown" in bad.output
    assert len(calls) == 1  # checked before computing any image feature
