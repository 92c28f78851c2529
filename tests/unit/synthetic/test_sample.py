"""The sample generator: instaloader-readable, deterministic, and with the planted relation."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.stats import spearmanr

from picme.lake import tables as lake
from picme.lake.ingest import ingest_raw
from picme.settings import get_settings
from picme.synthetic.instagram import TRUTH_FILE, generate_sample


def tree_digest(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a = generate_sample(tmp_path / "a", n_accounts=2, posts_per_account=6, seed=3, image_size=64)
    b = generate_sample(tmp_path / "b", n_accounts=2, posts_per_account=6, seed=3, image_size=64)
    c = generate_sample(tmp_path / "c", n_accounts=2, posts_per_account=6, seed=4, image_size=64)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    assert a.truth == b.truth
    assert [r["shortcode"] for r in a.truth] != [r["shortcode"] for r in c.truth]


def test_tree_is_an_instaloader_tree(tmp_path: Path) -> None:
    from instaloader import InstaloaderContext, Post, Profile, load_structure_from_file

    out = tmp_path / "raw"
    s = generate_sample(out, n_accounts=3, posts_per_account=10, seed=1, image_size=96)
    assert s.n_posts == 30 and len(s.accounts) == 3
    assert s.n_carousels >= 1 and s.n_videos >= 1 and s.n_hidden >= 1
    assert "30 posts" in s.summary()
    ctx = InstaloaderContext(sleep=False, quiet=True, max_connection_attempts=1)
    kinds: set[str] = set()
    hidden = 0
    for account in s.accounts:
        target = out / account
        metas = sorted(target.glob("*_UTC.json.xz"))
        assert len(metas) == 10
        for meta in metas:
            post = load_structure_from_file(ctx, str(meta))
            assert isinstance(post, Post) and post.owner_username == account
            kinds.add(post.typename)
            hidden += post.likes == -1
            base = meta.name[: -len(".json.xz")]
            if post.typename == "GraphSidecar":
                n = post.mediacount
                assert n >= 2
                assert all((target / f"{base}_{i}.jpg").is_file() for i in range(1, n + 1))
            else:
                assert (target / f"{base}.jpg").is_file()
            assert not (target / f"{base}.mp4").exists()
            # The file's mtime is its observation time, after the post was taken.
            assert meta.stat().st_mtime > post.date_utc.timestamp() - 1
        profiles = list(target.glob(f"{account}_*.json.xz"))
        assert len(profiles) == 1
        assert isinstance(load_structure_from_file(ctx, str(profiles[0])), Profile)
        assert len(list((target / "profile_snapshots").glob("*.json"))) >= 2
    assert kinds == {"GraphImage", "GraphSidecar", "GraphVideo"}
    assert hidden == s.n_hidden
    refreshes = list(out.glob("*/refresh/*/*.json.xz"))
    assert len(refreshes) == s.n_refresh
    followers = sorted({int(r["followers"]) for r in s.truth})
    assert followers[0] < 10_000 and followers[-1] > 200_000


def test_bad_arguments_are_input_errors(tmp_path: Path) -> None:
    from picme.errors import InputError

    with pytest.raises(InputError):
        generate_sample(tmp_path, n_accounts=0)
    with pytest.raises(InputError):
        generate_sample(tmp_path, image_size=8)


def test_planted_relation_survives_ingest(picme_home: Path, tmp_path: Path) -> None:
    """A blur-based sharpness proxy of the stored images ranks posts like their likes
    relative to the account's median do, after ingest, on what the lake holds."""
    raw = tmp_path / "raw"
    generate_sample(raw, n_accounts=4, posts_per_account=30, seed=7, image_size=128)
    settings = get_settings()
    ingest_raw([raw], settings)
    posts = lake.read_table(settings, "posts")
    assert posts is not None and posts.num_rows == 120
    rows = [
        r
        for r in posts.to_pylist()
        if r["likes"] is not None and (r["observed_at"] - r["taken_at"]).days >= 3
    ]
    by_account: dict[str, list[float]] = {}
    for r in rows:
        by_account.setdefault(r["owner_username"], []).append(math.log(r["likes"]))
    medians = {a: float(np.median(v)) for a, v in by_account.items()}
    rel = [math.log(r["likes"]) - medians[r["owner_username"]] for r in rows]
    sharp = []
    for r in rows:
        gray = cv2.imread(r["image_path"], cv2.IMREAD_GRAYSCALE)
        sharp.append(float(cv2.Laplacian(gray, cv2.CV_64F).var()))
    rho = spearmanr(sharp, rel).statistic
    assert rho > 0.3, rho
    # Absolute likes follow audience size far more than image quality.
    sizes = [r["followers"] for r in rows]
    assert spearmanr(sizes, [r["likes"] for r in rows]).statistic > 0.7

    with open(raw / TRUTH_FILE, encoding="utf-8") as fh:
        truth = {t["shortcode"]: float(t["q"]) for t in csv.DictReader(fh)}
    q = [truth[r["shortcode"]] for r in rows]
    assert spearmanr(q, rel).statistic > 0.5


def test_cli_generate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app

    out = tmp_path / "raw"
    args = ["generate", "--out", str(out), "--accounts", "1", "--posts", "3", "--image-size", "32"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "generated 3 posts" in result.output
    assert len(list(out.glob("*/*_UTC.json.xz"))) == 3
    bad = CliRunner().invoke(app, ["generate", "--out", str(out), "--posts", "0"])
    assert bad.exit_code == 2 and "at least 1" in bad.output
