"""Image-feature throughput against plain ``cv2.imread`` of the same files, in one run.

    python bench/bench_features.py            # 1,000 generated 1080x1080 JPEGs
    python bench/bench_features.py --n 200    # quicker

Prints a markdown report and writes bench/results/features.md. Absolute numbers depend on the
machine and its load; the ratios against the baseline measured in the same process are what
to compare between runs.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from picme.features import extractors, table  # noqa: E402
from picme.features.decode import decode_image, resize_max_side  # noqa: E402
from picme.util.atomic import atomic_open  # noqa: E402

SIDE = 1080
BLOCK = 50
_NOISE: dict[int, np.ndarray] = {}


def photo_like(seed: int, side: int = SIDE) -> np.ndarray:
    """Smooth colour fields, shapes and sensor-like noise: JPEG sizes close to real photos."""
    rng = np.random.default_rng(seed)
    half = side // 2  # drawn at half size, then enlarged: generation stays cheap
    low = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    img = cv2.resize(low, (half, half), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(5, 30))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, half)), int(rng.integers(0, half)))
        if rng.random() < 0.5:
            cv2.circle(img, centre, int(rng.integers(5, half // 4)), colour, -1, cv2.LINE_AA)
        else:
            size = (int(rng.integers(5, half // 3)), int(rng.integers(5, half // 3)))
            corner = (centre[0] + size[0], centre[1] + size[1])
            cv2.rectangle(img, centre, corner, colour, -1)
    if rng.random() < 0.5:  # some images out of focus
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 2)))
    img = cv2.resize(img, (side, side), interpolation=cv2.INTER_LINEAR)
    # Sensor-like noise (sigma 3) from one shared field, a different window per image:
    # fresh Gaussian noise for every 1080x1080 image would cost more than the features.
    if side not in _NOISE:
        field = np.random.default_rng(0).normal(0, 3, (side + 64, side + 64, 3))
        _NOISE[side] = field.round().astype(np.int16)
    dy, dx = (int(v) for v in rng.integers(0, 64, 2))
    noisy = cv2.add(img.astype(np.int16), _NOISE[side][dy : dy + side, dx : dx + side])
    return np.clip(noisy, 0, 255).astype(np.uint8)


def generate(out: Path, n: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = out / f"img_{i:05d}.jpg"
        cv2.imwrite(str(p), photo_like(i), [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(p)
    return paths


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def each(paths: Sequence[Path], read: Callable[[str], object]) -> Callable[[], None]:
    def run() -> None:
        for p in paths:
            if read(str(p)) is None:
                raise RuntimeError(f"could not read {p}")

    return run


def pillow_draft(path: str, side: int = 512) -> np.ndarray:
    """The alternative reduced decoder: Pillow's draft (libjpeg scaling), then shrink."""
    with Image.open(path) as im:
        scale = side / max(im.size)
        im.draft(None, (math.ceil(im.width * scale), math.ceil(im.height * scale)))
        return resize_max_side(np.asarray(im.convert("RGB")), side)


def decoder_costs(paths: Sequence[Path], rounds: int = 3) -> dict[str, float]:
    """Milliseconds per image of each decoder: per file the best of ``rounds``, decoders
    alternating in order, so load spikes from other work are filtered out."""
    decoders: dict[str, Callable[[str], object]] = {
        "cv2.imread, full size": cv2.imread,
        "decode_image(max_side=512) (kept: cv2.IMREAD_REDUCED_* for JPEG)": functools.partial(
            decode_image, max_side=512
        ),
        "Pillow draft + resize_max_side (alternative)": pillow_draft,
    }
    names = list(decoders)
    best = {name: [math.inf] * len(paths) for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for i, p in enumerate(paths):
            for name in order:
                t0 = time.perf_counter()
                decoders[name](str(p))
                best[name][i] = min(best[name][i], time.perf_counter() - t0)
    return {name: sum(v) / len(v) * 1000 for name, v in best.items()}


def stage_costs(paths: Sequence[Path], rounds: int = 3) -> dict[str, float]:
    """Milliseconds per image of decode and of each registered extractor: per image the
    best of ``rounds`` (filters out other work's load spikes), then the median over images."""
    decode_key = "decode (max_side=512)"
    names = extractors.available_extractors()
    costs: dict[str, list[float]] = {decode_key: []}
    costs.update({f"extractor `{name}`": [] for name in names})
    for p in paths:
        best: dict[str, float] = dict.fromkeys(costs, math.inf)
        for _ in range(rounds):
            t0 = time.perf_counter()
            rgb = decode_image(p, max_side=512)
            best[decode_key] = min(best[decode_key], time.perf_counter() - t0)
            inp = extractors.FeatureInput(rgb)
            _ = inp.gray, inp.gray_hist, inp.small_hsv  # shared by several extractors
            for name in names:
                t0 = time.perf_counter()
                extractors.get_extractor(name)(inp)
                key = f"extractor `{name}`"
                best[key] = min(best[key], time.perf_counter() - t0)
        for key, value in best.items():
            costs[key].append(value)
    return {k: statistics.median(v) * 1000 for k, v in costs.items()}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="generated images (default 1000)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "features.md")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)  # the baseline and in-process runs use one core, like one worker

    with tempfile.TemporaryDirectory(prefix="picme-bench-") as tmp:
        t_gen = time.perf_counter()
        paths = generate(Path(tmp), args.n)
        t_gen = time.perf_counter() - t_gen
        mb = sum(p.stat().st_size for p in paths) / 1e6
        sub = paths[: min(len(paths), 100)]

        # Warm the page cache and the lazy imports so every run below reads from memory.
        each(paths, lambda p: Path(p).read_bytes())()
        extractors.features_from_array(decode_image(paths[0], 512))

        # The machine is shared: baseline and candidate alternate in blocks, so a change
        # of load hits both sides of each ratio alike.
        t_imread = t_serial = 0.0
        for i in range(0, len(paths), BLOCK):
            block = paths[i : i + BLOCK]
            t_imread += timed(each(block, cv2.imread))
            t_serial += timed(functools.partial(table.extract_features_for_paths, block, 1))
        t_pool_base = timed(each(paths, cv2.imread))
        t_pool = timed(lambda: table.extract_features_for_paths(paths, workers=args.workers))
        t_pool_base = (t_pool_base + timed(each(paths, cv2.imread))) / 2
        decoders = decoder_costs(sub)
        stages = stage_costs(sub)

    n = len(paths)
    rows = [
        ("cv2.imread (full decode, baseline)", n / t_imread, 1.0),
        ("features, 1 process", n / t_serial, t_imread / t_serial),
        (
            f"features, {args.workers} processes (incl. pool start)",
            n / t_pool,
            t_pool_base / t_pool,
        ),
    ]
    base_ms = decoders["cv2.imread, full size"]
    extractors_ms = sum(v for k, v in stages.items() if k.startswith("extractor"))
    lines = [
        "# Image features benchmark",
        "",
        f"{n} generated {SIDE}x{SIDE} JPEGs (quality 90, {mb / n * 1000:.0f} kB average; "
        f"generated in {t_gen:.0f} s). Python {platform.python_version()}, OpenCV "
        f"{cv2.__version__}, {os.cpu_count()} CPU cores shared with other work (load "
        f"average {os.getloadavg()[0]:.1f} at the end): compare ratios, not absolute "
        f"numbers. Command: `python bench/bench_features.py --n {n} --workers {args.workers}`.",
        "",
        f"Baseline and the one-process run alternate in blocks of {BLOCK} files; the pool run "
        "is compared with cv2.imread timed just before and after it.",
        "",
        "| run | images/s | ratio to cv2.imread |",
        "|---|---:|---:|",
        *[f"| {name} | {rate:.1f} | {ratio:.2f} |" for name, rate, ratio in rows],
        "",
        f"Decoders on the first {len(sub)} files, best of 3 per file (ms per image):",
        "",
        "| decoder | ms/image | ratio to full cv2.imread |",
        "|---|---:|---:|",
        *[f"| {k} | {v:.2f} | {v / base_ms:.2f} |" for k, v in decoders.items()],
        "",
        "Cost per image of each stage (ms, one process; best of 3 per image, median over images):",
        "",
        "| stage | ms |",
        "|---|---:|",
        *[f"| {k} | {v:.2f} |" for k, v in stages.items()],
        f"| all extractors | {extractors_ms:.2f} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    with atomic_open(args.out) as fh:
        fh.write(text)
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
