"""Near-duplicate grouping on synthetic hashes and embeddings (no images)."""

from __future__ import annotations

import numpy as np
import pytest

from picme.curate.grouping import (
    DEFAULT_GROUPING,
    GroupingParams,
    candidate_pairs,
    group_labels,
    hamming_u64,
    pair_precision_recall,
)

D = 144  # embedding size (12 x 12)


def _flip(h: np.uint64, bits: list[int]) -> np.uint64:
    for b in bits:
        h = h ^ (np.uint64(1) << np.uint64(b))
    return h


def _embed(rng: np.random.Generator, base: np.ndarray | None = None, noise: float = 0.1):
    v = rng.normal(0, 1, D) if base is None else base + rng.normal(0, noise, D)
    v = v - v.mean()
    return v / np.linalg.norm(v)


def _q(vs: list[np.ndarray]) -> np.ndarray:
    return np.round(np.stack(vs) * 127).astype(np.int8)


def _bursts(seed: int = 0, n_scenes: int = 30, size: int = 3, flips: int = 2):
    """Scenes of `size` shots: a few flipped hash bits and a slightly noisy embedding."""
    rng = np.random.default_rng(seed)
    hashes, embeds, truth = [], [], []
    for s in range(n_scenes):
        h = np.uint64(int(rng.integers(0, 2**63)) * 2 + 1)
        e = _embed(rng)
        for _ in range(size):
            hashes.append(_flip(h, [int(b) for b in rng.choice(64, flips, replace=False)]))
            embeds.append(_embed(rng, e, 0.02))
            truth.append(s)
    return np.array(hashes, np.uint64), _q(embeds), np.array(truth)


def test_hamming_counts_bits() -> None:
    a = np.array([0, 0xFFFF, 2**63], np.uint64)
    b = np.array([1, 0, 2**63 + 1], np.uint64)
    assert hamming_u64(a, b).tolist() == [1, 16, 1]


def test_bursts_are_found_exactly() -> None:
    phash, embed, truth = _bursts()
    # Shuffle the files: neighbours in file order no longer help, the hash bands must.
    perm = np.random.default_rng(1).permutation(len(truth))
    labels = group_labels(phash[perm], embed[perm], np.full(len(truth), np.nan))
    assert pair_precision_recall(labels, truth[perm]) == (1.0, 1.0)


def test_bursts_in_file_order_are_found_despite_larger_differences() -> None:
    phash, embed, truth = _bursts(seed=5, flips=6)  # up to 12 bits between two shots
    labels = group_labels(phash, embed, np.full(len(truth), np.nan))
    assert pair_precision_recall(labels, truth) == (1.0, 1.0)


def test_group_ids_follow_file_order_and_are_deterministic() -> None:
    phash, embed, _ = _bursts(n_scenes=5)
    times = np.full(len(phash), np.nan)
    labels = group_labels(phash, embed, times)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert group_labels(phash, embed, times).tolist() == labels.tolist()


def test_embedding_vetoes_hash_collisions() -> None:
    rng = np.random.default_rng(2)
    h = np.uint64(0x0123456789ABCDEF)
    phash = np.array([h, _flip(h, [1, 5, 9, 20, 33, 40])], np.uint64)
    embed = _q([_embed(rng), _embed(rng)])  # unrelated pictures, similar hashes
    assert group_labels(phash, embed, np.full(2, np.nan)).tolist() == [0, 1]


def test_capture_time_splits_far_apart_lookalikes_but_not_exact_copies() -> None:
    rng = np.random.default_rng(3)
    e = _embed(rng)
    h = np.uint64(0x0F0F0F0F12345678)
    embed = _q([e, _embed(rng, e, 0.02), _embed(rng, e, 0.005)])
    near = _flip(h, [3, 17, 29, 41, 50, 60])  # 6 bits: a burst-like difference
    exact = _flip(h, [7])  # the same picture exported again
    phash = np.array([h, near, exact], np.uint64)
    hours = np.array([0.0, 7200.0, 86400.0])
    assert group_labels(phash, embed, hours).tolist() == [0, 1, 0]
    seconds = np.array([0.0, 2.0, 86400.0])
    assert group_labels(phash, embed, seconds).tolist() == [0, 0, 0]
    assert group_labels(phash, embed, np.full(3, np.nan)).tolist() == [0, 0, 0]


def test_flat_frames_group_only_when_hashes_match() -> None:
    embed = np.zeros((3, D), np.int8)  # black frames have no structure
    phash = np.array([0, 0, 0xFF00FF], np.uint64)
    assert group_labels(phash, embed, np.full(3, np.nan)).tolist() == [0, 0, 1]


def test_candidate_pairs_stay_linear_for_crowded_buckets() -> None:
    n = 5000
    phash = np.zeros(n, np.uint64)  # every hash band collides
    pairs = candidate_pairs(phash, np.full(n, np.nan))
    assert len(pairs) < n * (DEFAULT_GROUPING.window + 4)
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert len(np.unique(pairs, axis=0)) == len(pairs)
    labels = group_labels(phash, np.zeros((n, D), np.int8), np.full(n, np.nan))
    assert labels.max() == 0  # chained: one group of identical flat frames


def test_candidate_pairs_include_time_neighbours() -> None:
    n = 50
    rng = np.random.default_rng(4)
    phash = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    times = np.full(n, np.nan)
    times[0], times[49] = 100.0, 101.0  # far apart in file order, together in time
    pairs = {tuple(p) for p in candidate_pairs(phash, times, GroupingParams(window=2))}
    assert (0, 49) in pairs
    assert (0, 1) in pairs and (0, 2) in pairs and (0, 3) not in pairs


@pytest.mark.parametrize(
    ("pred", "truth", "expected"),
    [
        ([0, 0, 1, 1], ["a", "a", "b", "b"], (1.0, 1.0)),
        ([0, 0, 0, 0], ["a", "a", "b", "b"], (2 / 6, 1.0)),
        ([0, 1, 2, 3], ["a", "a", "b", "b"], (1.0, 0.0)),
        ([0, 0, 1, 2], ["a", "a", "a", "b"], (1.0, 1 / 3)),
    ],
)
def test_pair_precision_recall(pred: list[int], truth: list[str], expected: tuple) -> None:
    assert pair_precision_recall(np.array(pred), np.array(truth)) == pytest.approx(expected)
