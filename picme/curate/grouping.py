"""Near-duplicate and burst groups: candidate pairs without O(n^2), a pair test, and the
connected components of the pairs that pass it.

Two photos are the *same shot* when their 64-bit perceptual hashes differ in at most
``max_hamming`` bits **and** their luminance embeddings (12x12, zero-mean, unit-norm, so
brightness and contrast do not matter) have a cosine of at least ``min_cosine``. When both
carry an EXIF capture time more than ``max_gap_s`` apart they are only grouped if the hashes
are almost equal (``exact_hamming``): the same picture exported twice, not a burst.
Groups are the connected components of that relation (scipy's csgraph).

Only a few pairs are ever tested, so 100,000 photos do not stall: each photo is compared
with its ``window`` neighbours in file-name order (cameras number bursts consecutively) and
in capture-time order, which finds every burst shot in sequence, and with the photos that
share a bucket in one of ``tables`` locality-sensitive hash tables (each keyed by a fixed
random subset of the hash bits, about log2(n) - 3 of them), which finds most copies
elsewhere in the album: two hashes 4 bits apart share a bucket in at least one table with
probability ~0.97 to ~1.0 depending on album size, 8 bits apart ~0.65 to ~0.95. About 40
pairs a photo are tested in all. Thresholds are chosen from precision and recall on
generated bursts; see docs/curation.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class GroupingParams:
    max_hamming: int = 12
    min_cosine: float = 0.90
    exact_hamming: int = 4
    max_gap_s: float = 600.0
    window: int = 8
    bucket_cap: int = 48
    tables: int = 8
    key_bits: int | None = None  # None: about log2(n) - 3, between 8 and 16


DEFAULT_GROUPING = GroupingParams()


def hamming_u64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit differences between uint64 hash arrays (element-wise)."""
    return np.bitwise_count(np.bitwise_xor(a, b)).astype(np.int64)


def embed_cosine(embed: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Cosine of int8 embeddings scaled by 127 (a flat image has a zero embedding: 0)."""
    a = embed[i].astype(np.float32)
    b = embed[j].astype(np.float32)
    return (a * b).sum(axis=1) / (127.0 * 127.0)


def _run_pairs(order: np.ndarray, starts: np.ndarray, ends: np.ndarray, cap: int) -> np.ndarray:
    """Pairs inside runs ``order[s:e]``: all of them for small runs, a chain for big ones.

    Runs of one size are handled together (one numpy step per distinct size, not one per
    bucket): a 100,000-photo album has a hundred thousand buckets.
    """
    sizes = ends - starts
    out: list[np.ndarray] = []
    for size in np.unique(sizes[sizes >= 2]).tolist():
        run_starts = starts[sizes == size]
        if size <= cap:
            members = order[run_starts[:, None] + np.arange(size)[None, :]]  # (runs, size)
            ii, jj = np.triu_indices(size, k=1)
            out.append(np.stack([members[:, ii].ravel(), members[:, jj].ravel()], axis=1))
        else:
            # A crowded bucket (many flat or near-black frames): chain neighbours only;
            # the connected components still join the whole run if the pairs pass the test.
            for st in run_starts.tolist():
                members = order[st : st + size]
                out.append(np.stack([members[:-1], members[1:]], axis=1))
    if not out:
        return np.empty((0, 2), np.int64)
    return np.concatenate(out).astype(np.int64)


def lsh_keys(phash: np.ndarray, params: GroupingParams = DEFAULT_GROUPING) -> list[np.ndarray]:
    """One bucket key per photo and table: the hash bits at that table's fixed positions."""
    n = len(phash)
    bits = params.key_bits or int(min(16, max(8, math.ceil(math.log2(max(n, 2))) - 3)))
    rng = np.random.default_rng(20240601)  # fixed: the same tables on every run
    weights = np.uint64(1) << np.arange(bits, dtype=np.uint64)
    keys = []
    for _ in range(params.tables):
        positions = np.sort(rng.permutation(64)[:bits]).astype(np.uint64)
        picked = (phash[:, None] >> positions[None, :]) & np.uint64(1)
        keys.append((picked * weights).sum(axis=1, dtype=np.uint64))
    return keys


def candidate_pairs(
    phash: np.ndarray, times: np.ndarray, params: GroupingParams = DEFAULT_GROUPING
) -> np.ndarray:
    """Unique index pairs (i < j) worth testing; photos are in file-name order."""
    n = len(phash)
    parts: list[np.ndarray] = []
    idx = np.arange(n, dtype=np.int64)
    for k in range(1, min(params.window, n - 1) + 1):
        parts.append(np.stack([idx[:-k], idx[k:]], axis=1))
    timed = idx[~np.isnan(times)]
    if len(timed) > 1:
        by_time = timed[np.argsort(times[timed], kind="stable")]
        for k in range(1, min(params.window, len(by_time) - 1) + 1):
            parts.append(np.stack([by_time[:-k], by_time[k:]], axis=1))
    for key in lsh_keys(phash, params):
        order = np.lexsort((idx, key))
        sorted_key = key[order]
        bounds = np.flatnonzero(np.diff(sorted_key)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [n]])
        parts.append(_run_pairs(order, starts, ends, params.bucket_cap))
    if not parts:
        return np.empty((0, 2), np.int64)
    pairs = np.concatenate(parts)
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    code = np.sort(lo[lo != hi] * n + hi[lo != hi])
    code = code[np.concatenate([[True], code[1:] != code[:-1]])] if len(code) else code
    return np.stack([code // n, code % n], axis=1)


def same_shot(
    pairs: np.ndarray,
    phash: np.ndarray,
    embed: np.ndarray,
    times: np.ndarray,
    params: GroupingParams = DEFAULT_GROUPING,
    chunk: int = 65536,
) -> np.ndarray:
    """Boolean mask over ``pairs``: the two photos are near-duplicates.

    The hash test is a cheap filter run first; embeddings are compared only for the few
    pairs that pass it, in chunks, so memory stays small however many pairs there are.
    """
    out = np.zeros(len(pairs), bool)
    if len(pairs) == 0:
        return out
    i, j = pairs[:, 0], pairs[:, 1]
    d = hamming_u64(phash[i], phash[j])
    with np.errstate(invalid="ignore"):
        far = np.abs(times[i] - times[j]) > params.max_gap_s  # NaN (no time) -> False
    hash_ok = (d <= params.exact_hamming) | ((d <= params.max_hamming) & ~far)
    todo = np.flatnonzero(hash_ok)
    flat = np.asarray(~embed.any(axis=1), bool)
    for start in range(0, len(todo), chunk):
        sel = todo[start : start + chunk]
        a, b = i[sel], j[sel]
        cos = embed_cosine(embed, a, b)
        exact = (d[sel] <= params.exact_hamming) & (
            (cos >= params.min_cosine) | (flat[a] & flat[b])
        )
        similar = (d[sel] <= params.max_hamming) & (cos >= params.min_cosine) & ~far[sel]
        out[sel] = exact | similar
    return out


def group_labels(
    phash: np.ndarray,
    embed: np.ndarray,
    times: np.ndarray,
    params: GroupingParams = DEFAULT_GROUPING,
) -> np.ndarray:
    """Group index (0..G-1, numbered by first member in file order) of every photo."""
    n = len(phash)
    if n == 0:
        return np.empty(0, np.int64)
    pairs = candidate_pairs(phash, times, params)
    joined = pairs[same_shot(pairs, phash, embed, times, params)]
    graph = coo_matrix(
        (np.ones(len(joined), np.int8), (joined[:, 0], joined[:, 1])), shape=(n, n)
    ).tocsr()
    _, labels = connected_components(graph, directed=False)
    # Renumbered by first member rather than relying on scipy's traversal order: the group
    # ids are written to curation.json, so they must not change with a scipy release.
    _, first = np.unique(labels, return_index=True)
    number = np.empty(len(first), np.int64)
    number[np.argsort(first, kind="stable")] = np.arange(len(first))
    return number[labels]


def pair_precision_recall(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping against true labels.

    A pair of photos counts as predicted when both land in one group, as true when they
    belong to one burst. Precision 1.0 when no pair is predicted; recall 1.0 when no pair
    is true (nothing to find).
    """
    pred = np.asarray(pred)
    _, truth_ids = np.unique(np.asarray(truth), return_inverse=True)

    def pairs_in(counts: np.ndarray) -> int:
        return int((counts * (counts - 1) // 2).sum())

    both = pred.astype(np.int64) * (int(truth_ids.max(initial=0)) + 1) + truth_ids
    tp = pairs_in(np.unique(both, return_counts=True)[1])
    n_pred = pairs_in(np.unique(pred, return_counts=True)[1])
    n_true = pairs_in(np.unique(truth_ids, return_counts=True)[1])
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_true if n_true else 1.0
    return precision, recall
