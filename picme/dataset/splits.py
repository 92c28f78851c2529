"""Leak-free splits that keep the data, balanced by rows, and grouped folds.

Units. A photo and its near-duplicates form a *photo cluster* (connected components of the
links in sql/photo_links.sql: same file or perceptual hash within a few bits). Accounts tied
together by a shared cluster form an *account group* (a repost of one shot ties the two
accounts). The split places whole units, so no photo, near-duplicate or account is on two
sides, and nothing has to be excluded for crossing.

Guarantee. Normally the units are account groups: no account and no photo cluster on two
sides. When shared photos tie several accounts into a group that holds more rows than the
train side may (``1 - test - val`` of all rows), or into a single group, the units fall back
to photo clusters: no photo or near-duplicate crosses a split, but an account can appear on
several sides. :class:`SplitPlan` says which guarantee holds. (One account that alone holds
most rows is not a reason to split it: the sides are then as balanced as accounts allow,
and a note says so.)

Balance. Units are placed largest first, each on the side furthest below its target row
count (ties broken by a seeded hash), which keeps every side within a few points of its
fraction whatever the accounts' sizes. A validation side exists only with at least three
units; otherwise ``SplitPlan.notes`` says why there is none.

Folds. :func:`grouped_folds` deals the training units into K folds with scikit-learn's
GroupKFold, so no unit (account group) is in two folds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

ACCOUNT = "account"
PHOTO_CLUSTER = "photo_cluster"
SIDES = ("train", "val", "test")


@dataclass(frozen=True)
class SplitPlan:
    """Which side each row is on, and what the split guarantees."""

    split: np.ndarray  # 'train' | 'val' | 'test' per row
    unit: np.ndarray  # the unit id each row was placed with
    guarantee: str  # ACCOUNT or PHOTO_CLUSTER
    notes: list[str] = field(default_factory=list)

    def rows(self) -> dict[str, int]:
        return {s: int((self.split == s).sum()) for s in SIDES}

    def fractions(self) -> dict[str, float]:
        n = max(1, len(self.split))
        return {s: c / n for s, c in self.rows().items()}


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given undirected edges a-b."""
    if n == 0:
        return np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def photo_clusters(n: int, link_a: np.ndarray, link_b: np.ndarray) -> np.ndarray:
    """Row -> photo cluster id, from links between row positions."""
    return components(n, np.asarray(link_a, np.int64), np.asarray(link_b, np.int64))


def account_groups(accounts: Sequence[object] | np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Row -> account group id: accounts sharing any photo cluster are one group."""
    acc_codes, acc_idx = np.unique(np.asarray(accounts, dtype=object), return_inverse=True)
    n_acc = len(acc_codes)
    # Bipartite graph: account nodes 0..n_acc-1, cluster nodes after them.
    labels = components(n_acc + int(clusters.max(initial=-1)) + 1, acc_idx, n_acc + clusters)
    return labels[acc_idx]


def _order_key(seed: int, unit: int, label: str) -> str:
    return hashlib.md5(f"{seed}:{label}".encode()).hexdigest() + f"{unit:012d}"


def place_units(
    unit: np.ndarray,
    unit_label: dict[int, str],
    fractions: dict[str, float],
    seed: int,
) -> dict[int, str]:
    """Largest unit first, each to the side with the largest deficit against its target."""
    ids, sizes = np.unique(unit, return_counts=True)
    total = float(sizes.sum())
    targets = {s: f * total for s, f in fractions.items() if f > 0}
    assigned = dict.fromkeys(targets, 0.0)
    order = sorted(
        zip(ids.tolist(), sizes.tolist(), strict=True),
        key=lambda t: (-t[1], _order_key(seed, t[0], unit_label[t[0]])),
    )
    out: dict[int, str] = {}
    for uid, size in order:
        side = max(targets, key=lambda s: (targets[s] - assigned[s], targets[s]))
        out[uid] = side
        assigned[side] += size
    # A small lake can leave a held-out side empty (train's deficit stays the largest):
    # then it takes train's smallest unit, as long as train keeps one.
    for side in sorted(targets, key=lambda s: -targets[s]):
        if side == "train" or any(v == side for v in out.values()):
            continue
        train_units = [u for u, _ in reversed(order) if out[u] == "train"]
        if len(train_units) > 1:
            out[train_units[0]] = side
    return out


def _fractions(test: float, val: float, n_units: int) -> tuple[dict[str, float], list[str]]:
    notes = []
    if val > 0 and n_units < 3:
        notes.append(
            f"no validation split: {n_units} independent account groups, at least 3 are "
            "needed (train, val, test); model selection uses the training split's last epoch"
        )
        val = 0.0
    return {"train": 1.0 - test - val, "val": val, "test": test}, notes


def plan_split(
    accounts: Sequence[object],
    link_a: np.ndarray,
    link_b: np.ndarray,
    *,
    test_fraction: float,
    val_fraction: float,
    seed: int,
) -> SplitPlan:
    """The split of rows (one per usable post) given photo links between row positions."""
    acc = np.asarray(accounts, dtype=object)
    n = len(acc)
    clusters = photo_clusters(n, link_a, link_b)
    groups = account_groups(acc, clusters)
    sizes = np.bincount(groups) if n else np.zeros(0, np.int64)
    n_groups = int((sizes > 0).sum())
    big = int(np.argmax(sizes)) if n else 0
    largest = int(sizes.max(initial=0))
    tied = len(set(acc[groups == big].tolist())) > 1 if n else False
    train_share = 1.0 - test_fraction - val_fraction
    notes: list[str] = []
    # Only shared photos are a reason to give up whole accounts: a lone account stays whole
    # (and the build says a test side needs a second account).
    if not (tied and (n_groups < 2 or largest > max(train_share, 0.5) * n)):
        unit, guarantee = groups, ACCOUNT
        first = {int(g): str(acc[np.argmax(groups == g)]) for g in np.unique(groups)}
        labels = first
    else:
        unit, guarantee = clusters, PHOTO_CLUSTER
        notes.append(
            f"shared photos tie {largest} of {n} rows into one account group: split by "
            "photo clusters instead; no photo or near-duplicate crosses a split, but an "
            "account can be on several sides"
        )
        labels = {int(c): f"cluster{int(c)}" for c in np.unique(clusters)}
    n_units = len(labels)
    fractions, more = _fractions(test_fraction, val_fraction, n_units)
    notes += more
    placed = place_units(unit, labels, fractions, seed)
    split = np.array([placed[int(u)] for u in unit], dtype=object)
    plan = SplitPlan(split=split, unit=unit, guarantee=guarantee, notes=notes)
    off = {s: plan.fractions()[s] - f for s, f in fractions.items() if f > 0}
    if any(abs(d) > 0.05 for d in off.values()):
        shares = ", ".join(f"{s} {plan.fractions()[s]:.0%}" for s in fractions if fractions[s])
        notes.append(f"accounts are too unequal for the target fractions: {shares}")
    return plan


def grouped_folds(groups: Sequence[object], k: int) -> np.ndarray:
    """Fold number (0..k-1) of each row; rows of one group share a fold."""
    from sklearn.model_selection import GroupKFold

    g = np.asarray(groups, dtype=object)
    n_groups = len(set(g.tolist()))
    if k < 2 or n_groups < k:
        raise ValueError(f"{k} folds need at least {k} account groups, found {n_groups}")
    fold = np.full(len(g), -1, np.int64)
    for i, (_, held) in enumerate(GroupKFold(n_splits=k).split(np.zeros(len(g)), groups=g)):
        fold[held] = i
    return fold
