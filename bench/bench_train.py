"""Training throughput of seed-cnn on the CPU, with the decoded-image cache and without it.

    python bench/bench_train.py                  # 128 photos of 1080 px, 270 px model input
    python bench/bench_train.py --images 64 --source 2000 --epochs 2

Both runs train the same network (the poster's seed-cnn at 270x270) with the same batches in
the same process; the only difference is where the pixels come from: the decoded cache
(uint8 arrays decoded and resized once) or a JPEG decode per item per epoch. The cache
build itself is timed apart (it is paid once per image and size, then reused by every
epoch and every later run). Results: printed, and written to bench/results/train.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
CACHE = Path(os.environ.get("PICME_BENCH_CACHE", Path(tempfile.gettempdir()) / "picme-bench-cache"))


def make_photos(n: int, side: int, folder: Path) -> list[str]:
    """Photo-like JPEGs (smooth gradients, shapes and grain), made once and reused."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        p = folder / f"{i:05d}.jpg"
        if not p.exists():
            yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
            img = np.stack([yy * 200, xx * 180, (1 - yy) * 160], axis=-1)
            cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.3)
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(80, 255, 3)
            img += rng.normal(0, 8, img.shape)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(p, quality=90)
        paths.append(str(p))
    return paths


def run(loader, net, opt, loss_fn, epochs: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    import torch

    n_images, started = 0, time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            scores = net(batch["image"], batch["meta"])
            loss = loss_fn(scores, batch["target"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n_images += int(batch["image"].shape[0])
    torch.cuda.synchronize() if torch.cuda.is_available() else None
    return time.perf_counter() - started, n_images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--source", type=int, default=1080, help="side of the source JPEGs")
    ap.add_argument("--size", type=int, default=270, help="model input (seed-cnn: 270)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    ap.add_argument("--out", type=Path, default=RESULTS / "train.json")
    args = ap.parse_args()

    import torch
    from torch.utils.data import DataLoader

    from picme.models import build_model
    from picme.models.cache import DecodedCache
    from picme.models.data import RowsDataset
    from picme.models.losses import get_loss

    if args.threads:
        torch.set_num_threads(args.threads)
    paths = make_photos(args.images, args.source, CACHE / f"train-{args.source}")
    meta = np.zeros((len(paths), 0), np.float32)
    target = (np.arange(len(paths)) % 2).astype(np.float32)
    loss = get_loss("bce")

    with tempfile.TemporaryDirectory() as tmp:
        cache = DecodedCache(Path(tmp), args.size, workers=1)
        t0 = time.perf_counter()
        images, reasons = cache.load(paths)
        build_s = time.perf_counter() - t0
        assert all(r is None for r in reasons)
        t0 = time.perf_counter()
        images2, _ = cache.load(paths)
        reload_s = time.perf_counter() - t0
        assert np.array_equal(images, images2)

        results = {}
        for name, ds in (
            ("decode per item", RowsDataset(meta, target, paths=paths, size=args.size)),
            ("decoded cache", RowsDataset(meta, target, images=images, size=args.size)),
        ):
            torch.manual_seed(0)
            net = build_model("seed-cnn", image_size=args.size, n_meta=0)
            opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
            loader = DataLoader(ds, batch_size=args.batch, shuffle=True)
            run(loader, net, opt, loss.rows, 1 if args.epochs > 1 else 0)  # warm-up epoch
            seconds, n = run(loader, net, opt, loss.rows, args.epochs)
            t0 = time.perf_counter()
            for _ in loader:  # the data path alone, without the network
                pass
            data_s = time.perf_counter() - t0
            results[name] = {
                "train_images_per_s": n / seconds,
                "data_only_images_per_s": len(ds) / data_s,
            }

    base, cached = results["decode per item"], results["decoded cache"]
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "torch_threads": torch.get_num_threads(),
        "images": args.images,
        "source_side": args.source,
        "model_input": args.size,
        "batch": args.batch,
        "epochs_timed": args.epochs,
        "cache_build_s": build_s,
        "cache_reload_s": reload_s,
        "results": results,
        "train_speedup_cache_vs_decode": cached["train_images_per_s"] / base["train_images_per_s"],
        "data_speedup_cache_vs_decode": cached["data_only_images_per_s"]
        / base["data_only_images_per_s"],
    }
    print(f"{'':<18}{'train img/s':>14}{'data-only img/s':>18}")
    for name, r in results.items():
        print(f"{name:<18}{r['train_images_per_s']:>14.1f}{r['data_only_images_per_s']:>18.1f}")
    print(
        f"cache vs decode: training x{report['train_speedup_cache_vs_decode']:.2f}, "
        f"data path x{report['data_speedup_cache_vs_decode']:.1f}; cache build "
        f"{build_s:.1f} s once ({args.images / build_s:.0f} img/s), reload {reload_s:.2f} s"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
