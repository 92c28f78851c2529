"""Benchmark of the SQL feature build (picme.dataset.build.build_training_table) on generated lake
tables: 1,000,000 posts by default.

    python bench/bench_sql.py [--posts 1000000] [--accounts 20000] [--threads 0]

Prints a markdown report and writes it to bench/results/sql.md. Times are also given as a
ratio to a baseline measured in the same process on the same files (DuckDB reading the
three inputs and writing the posts back as Parquet, i.e. the I/O floor), so runs on
machines of different speed or load can be compared. Peak memory is the build process's
high-water resident set (ru_maxrss: Python, Arrow and DuckDB together) above what it held
before the build, and Python's own allocations (tracemalloc).

The data: accounts with a skewed number of posts (a few post thousands of times), lognormal
likes around each account's engagement, and the dirt a real lake has: hidden likes, videos,
posts too young to count, undecodable images, images without features, the same image
posted by two accounts, and near-identical images.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

NOW = datetime(2026, 6, 1, tzinfo=UTC)
_TS = pa.timestamp("us", tz="UTC")


def _hex_ids(rng: np.random.Generator, n: int) -> pa.Array:
    words = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64)
    return pa.array(["".join(f"{v:016x}" for v in w) for w in words.tolist()])


def _image_ids(rng: np.random.Generator, n: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """sha256 and perceptual hash of each post's image, and which posts repost another's."""
    sha = _hex_ids(rng, n)
    phash = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    # 0.5% repost another post's image (same file); 0.5% a near copy (1-3 bits apart).
    copy_idx = np.flatnonzero(rng.random(n) < 0.005)
    src = rng.integers(0, n, len(copy_idx))
    sha_np = np.array(sha.to_pylist(), dtype=object)
    sha_np[copy_idx] = sha_np[src]
    phash[copy_idx] = phash[src]
    near_idx = np.flatnonzero(rng.random(n) < 0.005)
    near_src = rng.integers(0, n, len(near_idx))
    flips = np.zeros(len(near_idx), dtype=np.int64)
    for _ in range(3):
        flips |= np.left_shift(np.int64(1), rng.integers(0, 63, len(near_idx)).astype(np.int64))
    phash[near_idx] = phash[near_src] ^ flips
    return pa.array(sha_np.tolist()), phash, copy_idx


def generate(lake: Path, n_posts: int, n_accounts: int, seed: int = 0) -> dict[str, int]:
    """Write posts, media and image_features Parquet files for n_posts generated posts."""
    from picme.features.extractors import FEATURE_COLUMNS

    rng = np.random.default_rng(seed)
    # Posts per account: lognormal, so most accounts post tens of times and a few thousands.
    weights = rng.lognormal(0.0, 1.2, n_accounts)
    per = np.maximum(1, np.floor(weights / weights.sum() * n_posts)).astype(np.int64)
    per[np.argmax(per)] += n_posts - per.sum()
    owner_idx = np.repeat(np.arange(n_accounts), per)
    n = len(owner_idx)
    names = pa.array([f"user{i:06d}" for i in range(n_accounts)])
    followers_acc = np.round(10 ** rng.uniform(2, 7, n_accounts)).astype(np.int64)
    engagement_acc = rng.uniform(0.01, 0.6, n_accounts)
    followers = followers_acc[owner_idx]

    # Taken over two years; 1% in the last two days (not settled yet).
    span_us = 730 * 86400 * 10**6
    now_us = int(NOW.timestamp() * 10**6)
    taken = now_us - rng.integers(3 * 86400 * 10**6, span_us, n)
    young = rng.random(n) < 0.01
    taken[young] = now_us - rng.integers(0, 2 * 86400 * 10**6, young.sum())
    observed = np.minimum(taken + rng.integers(3, 400, n) * 86400 * 10**6, now_us)
    observed[young] = now_us

    likes = np.round(followers * engagement_acc[owner_idx] * rng.lognormal(0.0, 0.6, n)).astype(
        np.int64
    )
    hidden = rng.random(n) < 0.03
    is_video = rng.random(n) < 0.05
    n_images = np.where(rng.random(n) < 0.2, rng.integers(2, 11, n), 1)

    shortcodes = pa.array([f"B{i:010d}" for i in range(n)])
    paths = pc.binary_join_element_wise("/bench/img/", shortcodes, ".jpg", "")
    sha, phash, copy_idx = _image_ids(rng, n)

    captions = pa.array(
        [f"caption {i} " + "#tag " * (i % 9) + "@friend " * (i % 3) for i in range(1000)]
    )
    tags = pa.array([[f"tag{j}" for j in range(i % 9)] for i in range(100)], pa.list_(pa.string()))
    cap_pick = pa.array(rng.integers(0, 1000, n))
    tag_pick = pa.array(rng.integers(0, 100, n))
    posts = pa.table(
        {
            "shortcode": shortcodes,
            "owner_username": names.take(pa.array(owner_idx)),
            "owner_id": pa.array(owner_idx.astype(np.int64)),
            "taken_at": pa.array(taken, _TS),
            "likes": pa.array(likes, mask=hidden),
            "comments": pa.array(likes // 20),
            "followers": pa.array(followers),
            "observed_at": pa.array(observed, _TS),
            "caption": captions.take(cap_pick),
            "hashtags": tags.take(tag_pick),
            "mentions": tags.take(pa.array(rng.integers(0, 3, n))),
            "tagged_users": tags.take(pa.array(rng.integers(0, 2, n))),
            "typename": pa.array(
                np.where(
                    is_video, "GraphVideo", np.where(n_images > 1, "GraphSidecar", "GraphImage")
                )
            ),
            "is_video": pa.array(is_video),
            "is_sponsored": pa.array(rng.random(n) < 0.02),
            "accessibility_caption": pa.nulls(n, pa.string()),
            "location": pa.array(np.where(rng.random(n) < 0.3, "Somewhere", None)),
            "image_path": paths,
            "n_images": pa.array(n_images.astype(np.int64)),
        }
    )
    undecodable = rng.random(n) < 0.01
    media = pa.table(
        {
            "path": paths,
            "shortcode": shortcodes,
            "idx": pa.array(np.zeros(n, np.int64)),
            "sha256": sha,
            "width": pa.array(np.full(n, 1080, np.int64)),
            "height": pa.array(np.full(n, 1350, np.int64)),
            "decodable": pa.array(~undecodable),
            "error": pa.array(np.where(undecodable, "truncated file", None)),
        }
    )
    # One feature row per distinct image; 0.5% of images have none yet.
    keep = ~(rng.random(n) < 0.005) & ~undecodable
    keep[copy_idx] = False  # the copied image's row is the source's
    feats: dict[str, Any] = {
        "sha256": sha.filter(pa.array(keep)),
        "path": paths.filter(pa.array(keep)),
        "decodable": pa.array(np.ones(keep.sum(), bool)),
        "error": pa.nulls(int(keep.sum()), pa.string()),
        "width": pa.array(np.full(keep.sum(), 1080, np.int32)),
        "height": pa.array(np.full(keep.sum(), 1350, np.int32)),
    }
    for col in FEATURE_COLUMNS:
        feats[col] = pa.array(rng.random(keep.sum()))
    feats["phash_int"] = pa.array(phash[keep])
    features = pa.table(feats)

    for name, table in (("posts", posts), ("media", media), ("image_features", features)):
        target = lake / name / f"{name}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target, compression="zstd")
    return {"posts": n, "accounts": int((per > 0).sum()), "features": int(keep.sum())}


def _baseline(lake: Path, threads: int) -> tuple[float, float]:
    """DuckDB reading every input column the build reads, and writing posts back: the
    I/O floor the build cannot go under."""
    from picme.dataset.sql import connect

    con = connect(threads=threads)
    out = lake.parent / "baseline.parquet"
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    for name in ("media", "image_features"):
        con.execute(f"SELECT * FROM read_parquet('{lake / name / name}.parquet')").fetchall()
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{lake / 'posts' / 'posts.parquet'}')) "
        f"TO '{out}' (FORMAT parquet, COMPRESSION zstd)"
    )
    elapsed = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    con.close()
    out.unlink()
    return elapsed, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's resident high-water mark (Linux), so the peak read after the
    build is the build's, not the imports' or the parent's (ru_maxrss survives exec)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _build_child(home: str, threads: int, queue: Any) -> None:
    import tracemalloc

    from picme.dataset.build import build_training_table
    from picme.settings import get_settings

    settings = get_settings(home=Path(home), workers=threads)
    before_kb = _status_kb("VmRSS") or 0
    exact = _reset_peak()
    tracemalloc.start()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    report = build_training_table(settings, now=NOW)
    elapsed = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_kb = (_status_kb("VmHWM") if exact else None) or resource.getrusage(
        resource.RUSAGE_SELF
    ).ru_maxrss
    queue.put(
        {
            "seconds": elapsed,
            "cpu_seconds": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
            "rss_before_mb": before_kb / 1024,
            "rss_peak_mb": peak_kb / 1024,
            "py_peak_mb": py_peak / 2**20,
            "rows": report.rows,
            "accounts": report.accounts,
            "pairs": report.pairs,
            "excluded": report.excluded,
            "timings": report.timings,
            "split_rows": report.split_rows,
        }
    )


def run_build(home: Path, threads: int) -> dict[str, Any]:
    """The build in a fresh process, so its memory high-water mark is the build's."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_build_child, args=(str(home), threads, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--accounts", type=int, default=20_000)
    ap.add_argument("--threads", type=int, default=0, help="0: one per core")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sql.md")
    args = ap.parse_args(argv)
    threads = args.threads or (os.cpu_count() or 1)

    home = Path(tempfile.mkdtemp(prefix="picme-bench-sql-"))
    try:
        t0 = time.perf_counter()
        made = generate(home / "lake", args.posts, args.accounts)
        gen_s = time.perf_counter() - t0
        load = os.getloadavg()[0]
        base_s, base_cpu = _baseline(home / "lake", threads)
        res = run_build(home, threads)
        sizes = {p.name: p.stat().st_size / 2**20 for p in (home / "lake").rglob("*.parquet")}
    finally:
        shutil.rmtree(home, ignore_errors=True)

    import duckdb

    lines = [
        "# SQL feature build benchmark",
        "",
        f"`python bench/bench_sql.py --posts {args.posts} --accounts {args.accounts}` on "
        f"{platform.machine()}, {os.cpu_count()} cores, {threads} DuckDB threads, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}; "
        f"generated in {gen_s:.1f} s. Load average when the build started: {load:.1f} "
        "(the machine is shared: wall times stretch with load, CPU seconds much less).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| posts in | {made['posts']:,} ({made['accounts']:,} accounts) |",
        f"| training rows out | {res['rows']:,} ({res['accounts']:,} accounts; "
        + ", ".join(f"{k} {v:,}" for k, v in res["split_rows"].items())
        + ") |",
        f"| ranking pairs | {res['pairs']:,} |",
        f"| excluded | {sum(res['excluded'].values()):,} |",
        f"| build time | {res['seconds']:.1f} s wall, {res['cpu_seconds']:.1f} s CPU |",
        f"| baseline (read inputs, write posts) | {base_s:.1f} s wall, {base_cpu:.1f} s CPU |",
        f"| build / baseline | {res['seconds'] / base_s:.1f}x wall, "
        f"{res['cpu_seconds'] / base_cpu:.1f}x CPU |",
        f"| posts per second | {made['posts'] / res['seconds']:,.0f} |",
        f"| peak RSS of the build process | {res['rss_peak_mb']:,.0f} MB "
        f"({res['rss_peak_mb'] - res['rss_before_mb']:,.0f} MB above its start) |",
        f"| Python-side peak (tracemalloc) | {res['py_peak_mb']:,.1f} MB |",
        "",
        "Stage times (s):",
        "",
        "| stage | seconds |",
        "|---|---|",
        *[f"| {k} | {v:.2f} |" for k, v in res["timings"].items()],
        "",
        "Exclusions:",
        "",
        "| reason | posts |",
        "|---|---|",
        *[f"| {k} | {v:,} |" for k, v in sorted(res["excluded"].items())],
        "",
        "Files (MB): " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(sizes.items())),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
