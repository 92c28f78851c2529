"""Ingest throughput against merely decompressing and parsing the same .json.xz files.

    python bench/bench_ingest.py                 # 10,000 generated posts, tiny images
    python bench/bench_ingest.py --posts 2000    # quicker

The tree comes from picme.synthetic.instagram (so it holds carousels, videos, refreshes,
snapshots) with 32 px images: what is measured is metadata ingest plus media hashing and
decode checks. The
baseline, measured in the same process on the same files, is ``lzma`` + ``json.load`` of every
post metadata file; the ratio of the two is what to compare between machines and runs.
Prints a markdown report and writes bench/results/ingest.md.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from picme.lake.ingest import ingest_raw  # noqa: E402
from picme.settings import get_settings  # noqa: E402
from picme.synthetic.instagram import generate_sample  # noqa: E402

POSTS_PER_ACCOUNT = 250


def make_tree(work: Path, n_posts: int, image_size: int) -> tuple[Path, float]:
    """Generate once per (N, size); a marker file lets a rerun reuse the tree."""
    raw = work / f"raw-{n_posts}-{image_size}"
    marker = raw / ".complete"
    if marker.is_file():
        return raw, 0.0
    shutil.rmtree(raw, ignore_errors=True)
    per = min(POSTS_PER_ACCOUNT, n_posts)
    accounts = max(1, n_posts // per)
    t0 = time.perf_counter()
    generate_sample(raw, n_accounts=accounts, posts_per_account=per, seed=0, image_size=image_size)
    elapsed = time.perf_counter() - t0
    marker.write_text("ok")
    return raw, elapsed


def cpu_seconds() -> float:
    """CPU time of this process and its finished children. Ingest's image-check workers are
    children of the pool's forkserver, not of this process, so they are not counted."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def parse_only(raw: Path) -> tuple[int, float, float]:
    files = sorted(raw.glob("*/*.json.xz")) + sorted(raw.glob("*/refresh/*/*.json.xz"))
    t0, c0 = time.perf_counter(), cpu_seconds()
    n = 0
    for f in files:
        with lzma.open(f, "rt") as fh:
            data = json.load(fh)
        n += "node" in data
    return n, time.perf_counter() - t0, cpu_seconds() - c0


def timed_ingest(raw: Path, home: Path, workers: int) -> tuple[object, float, float]:
    settings = get_settings(home=home, workers=workers)
    t0, c0 = time.perf_counter(), cpu_seconds()
    report = ingest_raw([raw], settings)
    return report, time.perf_counter() - t0, cpu_seconds() - c0


def warm_imports() -> None:
    """Pay one-time import costs (instaloader, PIL, and pandas, which pyarrow loads on its
    first conversion) before timing, so the numbers are per-post work."""
    import instaloader  # noqa: F401
    import pyarrow as pa
    from PIL import Image  # noqa: F401

    pa.array([1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=0, help="image-check processes (0: cores)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the tree here for reruns")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.md")
    args = ap.parse_args(argv)

    warm_imports()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="picme-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    raw, gen_s = make_tree(work, args.posts, args.image_size)
    n_files, parse_s, parse_cpu = parse_only(raw)
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    first, first_s, first_cpu = timed_ingest(raw, home, args.workers)
    again, again_s, again_cpu = timed_ingest(raw, home, args.workers)
    n_posts = first.posts_new  # type: ignore[attr-defined]
    assert again.posts_new == 0 and again.observations_new == 0  # type: ignore[attr-defined]

    def rate(n: int, s: float) -> str:
        return f"{n / s:,.0f}" if s > 0 else "n/a"

    rows = [
        ("decompress + json.load (baseline)", n_files, parse_s, parse_cpu),
        ("ingest, empty lake", n_posts, first_s, first_cpu),
        ("ingest again, nothing new", n_posts, again_s, again_cpu),
    ]
    lines = [
        "# Ingest benchmark",
        "",
        f"{n_posts:,} posts ({n_files:,} metadata files incl. refreshes, "
        f"{first.media_new:,} images of {args.image_size} px), "  # type: ignore[attr-defined]
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"workers={args.workers or 'cores'}, load average {os.getloadavg()[0]:.1f} at the end; "
        + ("tree reused" if gen_s == 0 else f"tree generated in {gen_s:.1f} s"),
        "",
        "| step | items | wall s | items/s | wall vs baseline | CPU s | CPU vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n, s, c in rows:
        lines.append(
            f"| {name} | {n:,} | {s:.2f} | {rate(n, s)} | {s / parse_s:.2f}x | {c:.2f} "
            f"| {c / parse_cpu:.2f}x |"
        )
    lines += [
        "",
        "The baseline reads every post's .json.xz as fast as Python can; ingest additionally",
        "builds instaloader Post objects, hashes and decode-checks every image, merges with the",
        "lake and writes Parquet atomically. A second run parses only files changed since the",
        "last one. CPU counts this process only: the image-check workers run under the pool's",
        "forkserver, whose children the OS does not report here; with --workers 1 every check",
        "runs in this process and CPU is the whole cost. Absolute numbers depend on the machine",
        "and its load.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
