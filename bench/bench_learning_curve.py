"""Learning curve: test pairwise accuracy of each model against the number of posts, on
generated data with a planted image signal. The evidence behind "retrain as the data grows"
and behind the size at which ``picme train`` (auto) lets the network compete.

    python bench/bench_learning_curve.py                               # 200 .. 20,000 posts
    python bench/bench_learning_curve.py --sizes 200,1000 --models ranker,fusion --epochs 2
    python bench/bench_learning_curve.py --time-budget-s 1200          # stop before 20 min
    python bench/bench_learning_curve.py --render bench/results/learning_curve.json  # md only

For each size the sample is generated with a fixed seed (``picme.synthetic.instagram``:
``--posts-per-account`` posts per account, at least ``--min-accounts`` accounts), ingested,
its image features computed and the training table built, exactly as `picme generate`,
`picme ingest` and `picme features` do. Every model is then fitted on that one table, so
all models of a size share the same train/val/test accounts and the same test pairs (a
paired comparison is refused when the test split's fingerprints differ). Fitting and
scoring go through the functions `picme train --model NAME --no-register` calls
(``picme.training.tabular.fit_tabular``, ``picme.training.fit.fit`` with ``evaluate`` /
``evaluate_trained``) without the MLflow logging, because the per-pair outcomes are needed
and a TrainResult does not carry a ranker's scores. Training seconds are the fit and the
scoring of val and test; a network's decode of every image into an emptied decoded-image
cache is timed apart (``cold_decode``).

Intervals: the 95% interval of the test pairwise accuracy is the champion gate's paired
two-level bootstrap (accounts, then their pairs; ``picme.registry.gate.compare``) of the
difference from chance, shifted by the chance level 0.5: chance is 0.5 on every pair, so
that is exactly the bootstrap interval of the accuracy itself. A network is also compared
pair by pair with the best ranker of its size (difference and interval), which is what
"overtakes" means here.

``--time-budget-s``: before each preparation and each fit the script estimates its time
from the previous size (linear in posts) and skips it when it would end past the budget;
the results say what was skipped and why. Results: bench/results/learning_curve.md and
.json (``--out``). Generated data is cached under $PICME_BENCH_CACHE/learning_curve.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
CACHE = (
    Path(os.environ.get("PICME_BENCH_CACHE", Path(tempfile.gettempdir()) / "picme-bench-cache"))
    / "learning_curve"
)
RANKER_MODELS = ("ranker", "linear-pairwise")
READY = "prepared.json"


@dataclass
class Run:
    """One model at one size: what it scored, or why it did not run."""

    size: int
    model: str
    status: str = "ok"  # ok, skipped, failed
    why: str = ""
    seconds: float = float("nan")
    epochs_run: int = 0
    decode_s: float = float("nan")
    acc: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")
    heuristic: float = float("nan")
    n_rows: int = 0
    n_pairs: int = 0
    n_accounts: int = 0
    train_rows: int = 0
    split: str = ""
    history: list[dict[str, float]] = field(default_factory=list)  # a network's epochs
    vs_ranker: dict[str, Any] = field(default_factory=dict)
    outcomes: Any = field(default=None, repr=False)

    def record(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "outcomes"}
        return {k: None if _nan(v) else v for k, v in out.items()}


def _nan(v: object) -> bool:
    return isinstance(v, float) and not np.isfinite(v)


def layout(size: int, per_account: int, min_accounts: int) -> tuple[int, int]:
    """(accounts, posts per account) for about ``size`` posts."""
    accounts = max(min_accounts, round(size / per_account))
    return accounts, max(1, round(size / accounts))


def prepare(size: int, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """Generate, ingest, features and build for one size (cached): settings and facts."""
    from picme.dataset.build import build_training_table
    from picme.features.table import update_image_features
    from picme.lake.ingest import ingest_raw
    from picme.settings import get_settings
    from picme.synthetic.instagram import generate_sample

    accounts, per = layout(size, args.posts_per_account, args.min_accounts)
    name = f"n{size}-a{accounts}-s{args.seed}-i{args.image_size}-sig{args.signal}"
    home = args.cache / name
    settings = get_settings(home=home, workers=args.workers)
    ready = home / READY
    if ready.exists():
        facts = json.loads(ready.read_text())
        facts["cached"] = True
        return settings, facts
    shutil.rmtree(home, ignore_errors=True)
    settings.ensure_dirs()
    times = {}
    t0 = time.perf_counter()
    summary = generate_sample(
        settings.raw_dir, accounts, per, args.seed, args.image_size, args.signal
    )
    times["generate_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ingest_raw([settings.raw_dir], settings)
    times["ingest_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    update_image_features(settings)
    times["features_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    build = build_training_table(settings)
    times["build_s"] = time.perf_counter() - t0
    facts = {
        "accounts": accounts,
        "posts_per_account": per,
        "posts": summary.n_posts,
        "images": summary.n_images,
        "build": build.summary(),
        **times,
        "prepare_s": sum(times.values()),
    }
    ready.write_text(json.dumps(facts, indent=2))
    facts["cached"] = False
    return settings, facts


def outcomes_of(scores: np.ndarray, test: Any) -> Any:
    from picme.registry.gate import PairOutcomes

    return PairOutcomes.from_scores(scores, test.pairs, test.frame["owner_username"].tolist())


def fit_one(model: str, settings: Any, frame: Any, pairs: Any, args: argparse.Namespace) -> Run:
    """Fit ``model`` on the table as built (train, val for early stopping, test), score the
    test split; the same steps as `picme train --model NAME --no-register`."""
    from picme.models.ranker import RANKERS
    from picme.registry.gate import PairOutcomes, compare
    from picme.training import tabular
    from picme.training.config import TrainConfig
    from picme.training.evaluate import EvalSplit, evaluate, evaluate_trained, split_fingerprint
    from picme.training.fit import fit

    run = Run(size=0, model=model)
    t0 = time.perf_counter()
    if model in RANKERS:
        fitted = tabular.fit_tabular(model, frame, pairs, seed=args.seed)
        test, val = fitted.splits["test"], fitted.splits["val"]
        scores = fitted.scores.get("test", np.zeros(0))
        run.seconds = time.perf_counter() - t0
        metrics = evaluate(
            test,
            scores,
            val=val if len(val.frame) else None,
            val_scores=fitted.scores.get("val"),
            positive_rate=0.5,
            seed=args.seed,
        ).metrics
        run.train_rows = len(fitted.splits["train"].frame) + len(val.frame)
    else:
        run.decode_s = cold_decode(settings, frame, args.image_size)
        t0 = time.perf_counter()
        cfg = TrainConfig(
            model=model,
            loss=args.loss,
            epochs=args.epochs,
            image_size=args.image_size,
            batch_size=args.batch_size,
            register=False,
            plots=False,
            seed=args.seed,
        )
        trained = fit(cfg, settings, frame, pairs)
        metrics, scores = evaluate_trained(trained, seed=args.seed)
        run.seconds = time.perf_counter() - t0
        d = trained.dm.splits["test"]
        test = EvalSplit(d.frame, d.pairs)
        run.epochs_run = trained.epochs_run
        run.history = [{k: float(v) for k, v in h.items()} for h in trained.history]
        run.train_rows = sum(len(trained.dm.splits[x].frame) for x in ("train", "val"))
    run.outcomes = outcomes_of(scores, test)
    c = compare("random", run.outcomes, PairOutcomes.chance(run.outcomes), seed=args.seed)
    run.acc, run.low, run.high = c.candidate_score, 0.5 + c.low, 0.5 + c.high
    run.heuristic = float(metrics.get("test/heuristic/pairwise_acc", float("nan")))
    run.n_rows, run.n_pairs = len(test.frame), c.n_pairs
    run.n_accounts = int(test.frame["owner_username"].nunique())
    run.split = split_fingerprint(test.frame, test.pairs)
    return run


def cold_decode(settings: Any, frame: Any, size: int) -> float:
    """Seconds to fill the decoded-image cache from nothing for every row of ``frame``
    (what a first `picme train` of a network pays once per image and size; later runs
    reuse it). Emptied first, so the figure does not depend on earlier runs."""
    from picme.models.cache import DecodedCache

    cache = DecodedCache(settings.cache_dir, size, workers=settings.n_workers())
    shutil.rmtree(cache.root, ignore_errors=True)
    t0 = time.perf_counter()
    shas = frame["sha256"].tolist() if "sha256" in frame.columns else None
    cache.load(frame["image_path"].astype(str).tolist(), shas)
    return time.perf_counter() - t0


def paired(run: Run, ref: Run, seed: int) -> dict[str, Any]:
    """``run`` minus ``ref`` on the same test pairs, with the gate's bootstrap interval."""
    from picme.registry.gate import compare

    if run.split != ref.split:
        return {"reference": ref.model, "failed": "different test pairs"}
    c = compare(ref.model, run.outcomes, ref.outcomes, seed=seed)
    return {"reference": ref.model, "diff": c.diff, "low": c.low, "high": c.high, "wins": c.wins}


def fmt_acc(r: Run) -> str:
    if r.status != "ok":
        return f"{r.status}"
    return f"{r.acc:.3f} [{r.low:.3f}, {r.high:.3f}]"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200,1000,5000,20000", help="posts, comma-separated")
    ap.add_argument("--models", default="ranker,linear-pairwise,fusion")
    ap.add_argument("--epochs", type=int, default=5, help="network epochs (early stopping on)")
    ap.add_argument("--loss", default="pairwise", help="network loss")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=128, help="generated images and net input")
    ap.add_argument("--posts-per-account", type=int, default=60)
    ap.add_argument("--min-accounts", type=int, default=8)
    ap.add_argument("--signal", type=float, default=0.6, help="planted image signal (log likes)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-budget-s", type=float, default=1440.0)
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--out", type=Path, default=RESULTS / "learning_curve.md")
    ap.add_argument(
        "--render", type=Path, metavar="JSON", help="only rewrite --out from a saved JSON"
    )
    return ap.parse_args()


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Budget:
    """Wall seconds left, and estimates (linear in posts) from the last measured size."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.perf_counter()
        self.last: dict[str, tuple[int, float]] = {}

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def measured(self, what: str, size: int, seconds: float) -> None:
        self.last[what] = (size, seconds)

    def refuse(self, what: str, size: int) -> str | None:
        """Why ``what`` at ``size`` is skipped, or None when it fits."""
        if what not in self.last:
            return None
        n0, s0 = self.last[what]
        estimate = s0 * size / n0
        left = self.seconds - self.elapsed()
        if estimate <= left:
            return None
        return (
            f"would take about {estimate:.0f} s (scaled from {s0:.0f} s at {n0} posts) with "
            f"{max(0.0, left):.0f} s of the {self.seconds:.0f} s budget left"
        )


def run_size(
    size: int, models: list[str], args: argparse.Namespace, budget: Budget
) -> tuple[dict[str, Any], list[Run]]:
    """Prepare one size and fit every model on it, within the budget."""
    from picme.models.table import load_pairs_frame, load_training_frame

    accounts, per = layout(size, args.posts_per_account, args.min_accounts)
    why = budget.refuse("prepare", size)
    if why is not None:
        say(f"[{size}] skipped: preparing {why}")
        facts = {"accounts": accounts, "posts_per_account": per, "skipped": why}
        return facts, [Run(size, m, "skipped", f"preparing the data {why}") for m in models]
    say(f"[{size}] preparing {accounts} accounts x {per} posts")
    settings, facts = prepare(size, args)
    budget.measured("prepare", size, facts["prepare_s"])
    say(f"[{size}] {facts['build']}")
    frame, pairs = load_training_frame(settings), load_pairs_frame(settings)
    facts["table_rows"] = len(frame)
    here: list[Run] = []
    for model in models:
        why = budget.refuse(model, size)
        if why is not None:
            say(f"[{size}] {model} skipped: fitting {why}")
            here.append(Run(size, model, "skipped", f"fitting {why}"))
            continue
        say(f"[{size}] fitting {model}")
        try:
            run = fit_one(model, settings, frame, pairs, args)
        except Exception as exc:  # a failed model is reported, the others still run
            first = str(exc).splitlines()[0] if str(exc) else ""
            here.append(Run(size, model, "failed", f"{type(exc).__name__}: {first}"))
            say(f"[{size}] {model} failed: {exc}")
            continue
        run.size = size
        budget.measured(model, size, run.seconds + np.nan_to_num(run.decode_s))
        here.append(run)
        say(f"[{size}] {model}: {fmt_acc(run)} heuristic {run.heuristic:.3f}, {run.seconds:.1f} s")
    rankers = [r for r in here if r.status == "ok" and r.model in RANKER_MODELS]
    if rankers:
        best = max(rankers, key=lambda r: r.acc)
        for r in here:
            if r.status == "ok" and r.model not in RANKER_MODELS:
                r.vs_ranker = paired(r, best, args.seed)
    return facts, here


def main() -> None:
    args = parse_args()
    if args.render is not None:
        render(args.render, args.out)
        print(args.out.read_text())
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    import torch

    budget = Budget(args.time_budget_s)
    runs: list[Run] = []
    sizes_facts: dict[int, dict[str, Any]] = {}
    for size in sizes:
        sizes_facts[size], here = run_size(size, models, args, budget)
        runs += here
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "command": "python bench/bench_learning_curve.py " + " ".join(sys.argv[1:]),
        "commit": _commit(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "wall_s": budget.elapsed(),
        "sizes": {str(k): v for k, v in sizes_facts.items()},
        "runs": [r.record() for r in runs],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.write_text(markdown(report, runs, sizes, models, sizes_facts))
    print(args.out.read_text())


def _secs(seconds: float) -> str:
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip()
    except OSError:
        return ""


def markdown(
    report: dict[str, Any],
    runs: list[Run],
    sizes: list[int],
    models: list[str],
    facts: dict[int, dict[str, Any]],
) -> str:
    args = argparse.Namespace(**report["args"])
    by = {(r.size, r.model): r for r in runs}
    lines = [
        "# Learning curve: pairwise accuracy against the number of posts",
        "",
        f"`{report['command']}` on {report['machine']} (torch threads "
        f"{report['torch_threads']}, {'GPU ' + report['gpu'] if report['gpu'] else 'no GPU'}), "
        f"{report['date']}, commit {report['commit']}; {report['wall_s']:.0f} s wall in all. "
        f"Raw numbers: `learning_curve.json`.",
        "",
        f"Data: `picme.synthetic.instagram.generate_sample` with seed {args.seed}, signal "
        f"{args.signal} (log likes per unit of latent image quality), {args.image_size} px "
        f"images, about {args.posts_per_account} posts per account and at least "
        f"{args.min_accounts} accounts; ingested, features and table built as `picme "
        "features` does (20% of accounts test, 10% validation). Every model of a size is "
        "fitted on the same table and scored on the same test pairs. Networks: "
        f"`--loss {args.loss}`, at most {args.epochs} epochs (early stopping on validation), "
        f"`--image-size {args.image_size}`, batch {args.batch_size}.",
        "",
        "Accuracy: within-account pairwise accuracy on the test pairs, with the 95% interval "
        "of the champion gate's paired bootstrap over accounts then pairs "
        "(`picme.registry.gate.compare` against chance, shifted by 0.5: the bootstrap "
        "interval of the accuracy itself). Heuristic: `heuristic_quality` on the same test "
        "pairs. Seconds: fitting plus scoring val and test (no MLflow logging); for a "
        "network, + the decode of every image into the empty decoded-image cache, which a "
        "first `picme train` pays once per image and size.",
        "",
        "Training rows: the table's rows outside the test split (train and val), the count "
        "`picme train` (auto) compares with `CNN_MIN_ROWS` before the network may compete.",
        "",
        "| posts | accounts | training rows | test rows / pairs / accounts | heuristic | "
        + " | ".join(models)
        + " |",
        "|---:|---:|---:|---:|---:|" + "---:|" * len(models),
    ]
    for size in sizes:
        f = facts.get(size, {})
        ok = [by[(size, m)] for m in models if (size, m) in by and by[(size, m)].status == "ok"]
        first = ok[0] if ok else None
        test = f"{first.n_rows} / {first.n_pairs} / {first.n_accounts}" if first else "-"
        heur = f"{first.heuristic:.3f}" if first else "-"
        cells = []
        for m in models:
            r = by.get((size, m))
            if r is None:
                cells.append("-")
            elif r.status == "ok":
                seconds = f"{_secs(r.seconds)} s"
                if np.isfinite(r.decode_s):
                    seconds += f" + {_secs(r.decode_s)} s decode"
                cells.append(f"{r.acc:.3f} [{r.low:.3f}, {r.high:.3f}], {seconds}")
            else:
                cells.append(r.status)
        posts = f.get("posts", size)
        rows = first.train_rows if first else "-"
        lines.append(
            f"| {posts} | {f.get('accounts', '-')} | {rows} | {test} | {heur} | "
            + " | ".join(cells)
            + " |"
        )
    nets = [r for r in runs if r.status == "ok" and r.vs_ranker]
    if nets:
        lines += [
            "",
            "Networks against the best ranker of the same size, pair by pair on the same test "
            "pairs (difference in pairwise accuracy, 95% paired bootstrap interval):",
            "",
            "| posts | network | best ranker | difference [95% interval] | overtakes? |",
            "|---:|---|---|---:|---|",
        ]
        for r in nets:
            v = r.vs_ranker
            if "failed" in v:
                lines.append(f"| {r.size} | {r.model} | {v['reference']} | {v['failed']} | - |")
                continue
            verdict = "yes" if v["wins"] else ("no (worse)" if v["high"] < 0 else "no")
            lines.append(
                f"| {r.size} | {r.model} | {v['reference']} | {v['diff']:+.3f} "
                f"[{v['low']:+.3f}, {v['high']:+.3f}] | {verdict} |"
            )
    curves = [r for r in runs if r.history]
    if curves:
        lines += ["", "Validation pairwise accuracy per epoch (networks):", ""]
        lines += [
            f"- {r.size} posts, {r.model}: "
            + ", ".join(f"{h.get('val/pairwise_acc', float('nan')):.3f}" for h in r.history)
            for r in curves
        ]
    prep = [(s, f) for s, f in facts.items() if "prepare_s" in f]
    if prep:
        lines += [
            "",
            "Preparation (generate, ingest, features, build) per size: "
            + "; ".join(
                f"{s} posts {f['prepare_s']:.0f} s" + (" (cached, earlier run)" * f["cached"])
                for s, f in prep
            )
            + ".",
        ]
    lines += ["", "## Conclusion", "", *conclusion(runs)]
    lines.append("")
    return "\n".join(lines)


def conclusion(runs: list[Run]) -> list[str]:
    """What the table says about networks against rankers, written from the numbers."""
    from picme.training.candidates import CNN_MIN_ROWS

    def cmp(r: Run) -> str:
        v = r.vs_ranker
        return (
            f"{r.model} at {r.size} posts ({r.train_rows} training rows): "
            f"{v['diff']:+.4f} [{v['low']:+.4f}, {v['high']:+.4f}] against {v['reference']}"
        )

    nets = [r for r in runs if r.status == "ok" and "diff" in r.vs_ranker]
    wins = [r for r in nets if r.vs_ranker["wins"]]
    worse = [r for r in nets if r.vs_ranker["high"] < 0]
    out = []
    if wins:
        first = min(wins, key=lambda r: r.size)
        out.append(f"- A network overtakes the best ranker first with {cmp(first)}.")
    elif nets:
        closest = max(nets, key=lambda r: r.vs_ranker["low"])
        out.append(
            "- Within what ran, no network overtakes the best ranker (no paired interval lies "
            f"above 0). Closest: {cmp(closest)}."
        )
    out += [f"- Worse than the best ranker: {cmp(r)}." for r in worse]
    if nets:
        below = [r for r in nets if r.train_rows < CNN_MIN_ROWS]
        above = [r for r in nets if r.train_rows >= CNN_MIN_ROWS]
        early = [r for r in below if r.vs_ranker["wins"]]
        late = [r for r in above if r.vs_ranker["high"] < 0]
        verdict = (
            "contradicted: the network already wins below it"
            if early
            else "contradicted: the network loses above it"
            if late
            else "not tested: no size reached it"
            if not above
            else "not contradicted: no network won below it and none lost above it"
        )
        out.append(
            f"- `picme train` (auto) lets the network compete from CNN_MIN_ROWS = "
            f"{CNN_MIN_ROWS} training rows; measured networks below it: "
            f"{', '.join(str(r.train_rows) for r in below) or 'none'}, at or above it: "
            f"{', '.join(str(r.train_rows) for r in above) or 'none'}. The threshold is "
            f"{verdict}."
        )
        biggest = max(nets, key=lambda r: r.size)
        ref = next(
            (
                x
                for x in runs
                if x.size == biggest.size and x.model == biggest.vs_ranker["reference"]
            ),
            None,
        )
        if ref is not None:
            cost = biggest.seconds + np.nan_to_num(biggest.decode_s)
            out.append(
                f"- Cost at {biggest.size} posts: {biggest.model} {cost:.0f} s against "
                f"{ref.seconds:.1f} s for {ref.model} (one fit; auto's 5-fold selection fits "
                "each candidate 5 more times)."
            )
    skipped = [r for r in runs if r.status != "ok"]
    if skipped:
        out.append("- Not run:")
        out += [f"  - {r.size} posts, {r.model}: {r.status}, {r.why}" for r in skipped]
    else:
        out.append("- Every size and model asked for ran within the time budget.")
    return out


def render(path: Path, out: Path) -> None:
    """The markdown again from a saved JSON (the same numbers, nothing refitted)."""
    report = json.loads(path.read_text())
    floats = {k for k, v in Run(0, "").__dict__.items() if isinstance(v, float)}
    runs = [
        Run(**{k: float("nan") if v is None and k in floats else v for k, v in r.items()})
        for r in report["runs"]
    ]
    sizes = sorted(int(k) for k in report["sizes"])
    facts = {int(k): v for k, v in report["sizes"].items()}
    models = [m.strip() for m in report["args"]["models"].split(",") if m.strip()]
    out.write_text(markdown(report, runs, sizes, models, facts))


if __name__ == "__main__":
    main()
