"""Scoring throughput of the champion served by ``mlflow models serve`` against the
in-process scorer (``load_scorer``) on the same photos, in one run.

    python bench/bench_serve.py                 # 96 generated 1080x1080 JPEGs, 3 rounds
    python bench/bench_serve.py --n 32 --rounds 1

A small ranker (tests/mlflowserve.py: linear-pairwise on generated data, logged through the
training's ranker path) is registered as the champion of a temporary tracking store and
served on 127.0.0.1 with ``--env-manager local``. Both sides start from the encoded files:
in process, ``decode_image`` at the scorer's size and ``score_images`` per batch; served, the
files base64-encoded into a ``dataframe_split`` request per batch (encoding, HTTP, JSON,
the server's decoding and scoring all counted). The modes alternate round by round and the
median round is kept. Writes bench/results/serve.md and serve.json; compare ratios, not
absolute numbers, which depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench_features import photo_like  # noqa: E402

from picme.util.atomic import atomic_open  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CACHE = Path(os.environ.get("PICME_BENCH_CACHE", Path(tempfile.gettempdir()) / "picme-bench-cache"))


def make_photos(n: int, side: int) -> list[Path]:
    folder = CACHE / f"serve-{side}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"{i:05d}.jpg"
        if not p.exists():
            rgb = photo_like(i, side)
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(p), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(p)
    return paths


def batches(items: list[Path], size: int) -> list[list[Path]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=96, help="photos")
    ap.add_argument("--side", type=int, default=1080, help="side of the generated JPEGs")
    ap.add_argument("--batch", type=int, default=16, help="photos per call / request")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "serve.md")
    args = ap.parse_args()

    import tests.conftest  # noqa: F401  (the tests' offline MLflow environment)
    from picme.features.decode import decode_image
    from picme.scoring.api import load_scorer
    from tests.mlflowserve import b64, invoke, register_champion, served

    t0 = time.perf_counter()
    photos = make_photos(args.n, args.side)
    gen_s = time.perf_counter() - t0
    mb = sum(p.stat().st_size for p in photos) / 1e6

    with tempfile.TemporaryDirectory(prefix="picme-bench-serve-") as tmp:
        settings = register_champion(Path(tmp) / "home", n_accounts=6, posts=20)
        scorer = load_scorer(f"models:/{settings.model_name}@champion", settings)

        def in_process(group: list[Path]) -> list[float]:
            images = [decode_image(p, max_side=scorer.max_side) for p in group]
            return [float(s) for s in scorer.score_images(images)]

        t0 = time.perf_counter()
        with served(settings, Path(tmp) / "serve.log") as url:
            start_s = time.perf_counter() - t0

            def via_server(group: list[Path]) -> list[float]:
                data = [[b64(p.read_bytes())] for p in group]
                body = {"dataframe_split": {"columns": ["image"], "data": data}}
                rows = invoke(url, body)["predictions"]
                assert all(r["status"] == "ok" for r in rows), rows
                return [float(r["score"]) for r in rows]

            modes: dict[str, tuple[Callable[[list[Path]], list[float]], int]] = {
                "in-process scorer": (in_process, args.batch),
                f"served, {args.batch} photos per request": (via_server, args.batch),
                "served, 1 photo per request": (via_server, 1),
            }
            via_server(photos[:2]), in_process(photos[:2])  # warm-up: first request, caches
            times: dict[str, list[float]] = {m: [] for m in modes}
            scores: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for name, (fn, size) in modes.items():
                    t = time.perf_counter()
                    got = [s for group in batches(photos, size) for s in fn(group)]
                    times[name].append(time.perf_counter() - t)
                    scores[name] = got

    base = scores["in-process scorer"]
    for name, got in scores.items():
        np.testing.assert_allclose(got, base, rtol=1e-9, err_msg=name)
    rate = {m: args.n / statistics.median(t) for m, t in times.items()}
    base_rate = rate["in-process scorer"]
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_end": os.getloadavg()[0],
        "photos": args.n,
        "side": args.side,
        "megabytes": round(mb, 1),
        "batch": args.batch,
        "rounds": args.rounds,
        "model": scorer.name,
        "server_start_s": start_s,
        "seconds": times,
        "photos_per_s": rate,
        "ratio_to_in_process": {m: r / base_rate for m, r in rate.items()},
        "scores_equal": True,
    }
    lines = [
        "# Serving benchmark",
        "",
        f"{args.n} generated {args.side}x{args.side} JPEGs ({mb:.1f} MB; made in {gen_s:.0f} s, "
        f"kept between runs), the champion `{scorer.name}` (a linear-pairwise ranker on "
        "generated data) served by `mlflow models serve --env-manager local -w 1` on 127.0.0.1 "
        f"(ready {start_s:.1f} s after start). {report['machine']}, shared with other work "
        f"(load average {report['load_average_end']:.1f} at the end): compare ratios, not "
        "absolute numbers. "
        f"Command: `python bench/bench_serve.py --n {args.n} --rounds {args.rounds}`.",
        "",
        "Both start from the encoded files and return the same scores (checked, rtol 1e-9); the "
        "modes alternate round by round, median of the rounds.",
        "",
        "| mode | photos/s | ratio to in-process |",
        "|---|---:|---:|",
    ]
    lines += [f"| {m} | {r:.1f} | {r / base_rate:.2f} |" for m, r in rate.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out, "w") as f:
        f.write(text)
    with atomic_open(args.out.with_suffix(".json"), "w") as f:
        f.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
