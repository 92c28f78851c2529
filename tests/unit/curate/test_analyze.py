"""Per-photo analysis through the shared pool: input order, and a file that crashes its
worker costs only itself."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from picme.curate.analyze import AnalyzeConfig, analyze_stream
from tests.unit.curate.crashscorer import CRASH_WIDTH, CrashingScorer


def _album(root: Path, widths: list[int]) -> list[tuple[int, str, str]]:
    items = []
    for k, width in enumerate(widths):
        rel = f"IMG_{k:02d}.png"
        Image.new("RGB", (width, 48), (40 * k % 255, 90, 160)).save(root / rel)
        items.append((k, rel, str(root / rel)))
    return items


def _cfg(scorer: object = None) -> AnalyzeConfig:
    return AnalyzeConfig(decode_side=512, score_side=64, thumbs_dir="", score_in_worker=scorer)


def test_results_keep_input_order_in_and_out_of_process(tmp_path: Path) -> None:
    items = _album(tmp_path, [60 + k for k in range(7)])
    pooled = [r for chunk in analyze_stream(items, _cfg(), 2, chunk_size=2) for r in chunk]
    local = [r for chunk in analyze_stream(items, _cfg(), 1, chunk_size=2) for r in chunk]
    assert [r.index for r in pooled] == [r.index for r in local] == list(range(7))
    assert all(r.ok for r in pooled)
    assert [r.phash for r in pooled] == [r.phash for r in local]
    assert [r.width for r in pooled] == [60 + k for k in range(7)]


def test_a_file_that_crashes_its_worker_costs_only_itself(tmp_path: Path) -> None:
    widths = [60, 61, 62, CRASH_WIDTH, 64, 65]
    items = _album(tmp_path, widths)
    chunks = list(analyze_stream(items, _cfg(CrashingScorer()), 2, chunk_size=2))
    assert [len(c) for c in chunks] == [2, 2, 2]
    results = [r for chunk in chunks for r in chunk]
    assert [r.index for r in results] == list(range(6))
    crashed = results[3]
    assert not crashed.ok and crashed.reason == "the image decoder crashed on this file"
    assert all(r.ok and r.score == 0.5 for k, r in enumerate(results) if k != 3)
