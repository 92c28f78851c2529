"""GPU training throughput: seed-cnn and a ResNet-50 backbone in mixed precision, each through
PicMe's Lightning training (ScoringModule + Trainer, the precision ``picme train`` picks:
"bf16-mixed", or "16-mixed" on GPUs without bf16) beside a plain PyTorch loop of the same
network (torch.autocast in the same dtype, AdamW), in one run.

    python bench/gpu_bench.py                 # on a CUDA machine
    python bench/gpu_bench.py --smoke         # tiny sizes on the CPU: checks the script runs

Data are random uint8 images already in memory (as the decoded cache gives them), so the
figures measure the training step and the framework around it, not decoding. Both paths see
the same batches, batch size, optimizer and precision; the first ``--warmup`` steps (cuDNN
autotuning, allocator growth) are excluded. Results: printed, and written to
bench/results/gpu.json (or ``--out``), with the GPU's name, capability and the precision.
No figures from a GPU are in bench/results/ yet: none has been available (docs/operations.md,
"GPU training").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def make_loader(n: int, size: int, batch: int, workers: int):  # type: ignore[no-untyped-def]
    import torch
    from torch.utils.data import DataLoader

    from picme.models.data import RowsDataset

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    ds = RowsDataset(
        np.zeros((n, 0), np.float32),
        (rng.random(n) > 0.5).astype(np.float32),
        images=images,
        size=size,
    )
    return DataLoader(
        ds,
        batch_size=batch,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
    )


def build(model: str, size: int):  # type: ignore[no-untyped-def]
    from picme.models import build_model

    # Weights do not change the speed; the benchmark never needs a checkpoint.
    return build_model(model, image_size=size, n_meta=0, arch="resnet50", from_scratch=True)


def lightning_run(model: str, size: int, loader, steps: int, warmup: int, precision: str) -> dict:  # type: ignore[no-untyped-def]
    import lightning as L
    import torch

    from picme.models.losses import get_loss
    from picme.models.module import ScoringModule

    class Clock(L.Callback):
        def __init__(self) -> None:
            self.t0 = 0.0
            self.images = 0

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
            if trainer.global_step == warmup and self.t0 == 0.0:
                _sync()
                self.t0 = time.perf_counter()
            if trainer.global_step >= warmup:
                self.images += int(batch["image"].shape[0])

        def on_train_end(self, trainer, pl_module) -> None:  # type: ignore[no-untyped-def]
            _sync()
            self.seconds = time.perf_counter() - self.t0

    torch.manual_seed(0)
    module = ScoringModule(build(model, size), get_loss("bce"), lr=1e-4, meta_dropout=0.0)
    clock = Clock()
    trainer = L.Trainer(
        max_steps=warmup + steps,
        accelerator="auto",
        devices=1,
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[clock],
        limit_val_batches=0,
    )
    trainer.fit(module, train_dataloaders=loader)
    return {"images_per_s": clock.images / clock.seconds, "images": clock.images}


def plain_run(model: str, size: int, loader, steps: int, warmup: int, precision: str) -> dict:  # type: ignore[no-untyped-def]
    import torch
    import torch.nn.functional as F

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    net = build(model, size).to(device)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
    # fp16 needs loss scaling, as Lightning's "16-mixed" does; bf16 and fp32 do not.
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
    done, images, t0 = 0, 0, 0.0
    while done < warmup + steps:
        for batch in loader:
            if done == warmup:
                _sync()
                t0 = time.perf_counter()
            x = batch["image"].to(device, non_blocking=True)
            m = batch["meta"].to(device, non_blocking=True)
            y = batch["target"].to(device, non_blocking=True)
            with torch.autocast(
                device.type, dtype=dtype or torch.float32, enabled=dtype is not None
            ):
                loss = F.binary_cross_entropy_with_logits(net(x, m).float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            if done >= warmup:
                images += int(x.shape[0])
            done += 1
            if done >= warmup + steps:
                break
    _sync()
    return {"images_per_s": images / (time.perf_counter() - t0), "images": images}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, CPU allowed")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        raise SystemExit("no CUDA device: run with --smoke for the CPU check")
    sizes = {"seed-cnn": 270, "backbone": 224}
    if args.smoke:
        sizes = {"seed-cnn": 32, "backbone": 32}
        args.batch, args.steps, args.warmup, args.workers = 2, 2, 1, 0
    from picme.training.config import choose_precision

    precision = choose_precision("auto", cuda, cuda and torch.cuda.is_bf16_supported())
    report: dict = {
        "device": torch.cuda.get_device_name(0) if cuda else f"CPU ({platform.machine()})",
        "capability": ".".join(map(str, torch.cuda.get_device_capability(0))) if cuda else None,
        "precision": precision,
        "batch": args.batch,
        "steps_timed": args.steps,
        "torch": torch.__version__,
        "models": {},
    }
    if cuda:
        torch.backends.cudnn.benchmark = True
    for model, size in sizes.items():
        n = args.batch * (args.warmup + args.steps + 1)
        loader = make_loader(min(n, 4096), size, args.batch, args.workers)
        plain = plain_run(model, size, loader, args.steps, args.warmup, precision)
        light = lightning_run(model, size, loader, args.steps, args.warmup, precision)
        label = "resnet50 backbone" if model == "backbone" else model
        report["models"][label] = {
            "input": size,
            "plain_images_per_s": plain["images_per_s"],
            "lightning_images_per_s": light["images_per_s"],
            "lightning_vs_plain": light["images_per_s"] / plain["images_per_s"],
        }
    print(f"{report['device']}, {report['precision']}, batch {args.batch}")
    print(f"{'model':<20}{'plain img/s':>14}{'lightning img/s':>18}{'ratio':>8}")
    for name, r in report["models"].items():
        print(
            f"{name:<20}{r['plain_images_per_s']:>14.1f}{r['lightning_images_per_s']:>18.1f}"
            f"{r['lightning_vs_plain']:>8.2f}"
        )
    out = args.out or (RESULTS / ("gpu_smoke.json" if args.smoke else "gpu.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
