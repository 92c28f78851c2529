"""Leak-free, balanced splits that keep the data, and grouped folds."""

from __future__ import annotations

import numpy as np
import pytest

from picme.dataset.splits import ACCOUNT, PHOTO_CLUSTER, grouped_folds, plan_split

NO_LINKS = (np.zeros(0, np.int64), np.zeros(0, np.int64))


def _rows(sizes: list[int]) -> list[str]:
    return [f"acc{i:02d}" for i, n in enumerate(sizes) for _ in range(n)]


def _sides_of(accounts: list[str], split: np.ndarray) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, s in zip(accounts, split.tolist(), strict=True):
        out.setdefault(a, set()).add(s)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_skewed_accounts_are_balanced_by_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Heavy-tailed sizes (5 to 120 posts), no single account holding most rows.
    sizes = np.minimum(rng.pareto(1.2, 30) * 20 + 5, 120).astype(int).tolist()
    accounts = _rows(sizes)
    plan = plan_split(accounts, *NO_LINKS, test_fraction=0.2, val_fraction=0.1, seed=seed)
    assert plan.guarantee == ACCOUNT
    f = plan.fractions()
    assert abs(f["test"] - 0.2) <= 0.04, f
    assert abs(f["val"] - 0.1) <= 0.04, f
    assert all(len(sides) == 1 for sides in _sides_of(accounts, plan.split).values())


def test_accounts_tied_by_a_shared_photo_go_to_one_side_and_nothing_is_dropped() -> None:
    accounts = _rows([10] * 10)
    # acc00's first post and acc05's first post are the same shot (a repost).
    plan = plan_split(
        accounts, np.array([0]), np.array([50]), test_fraction=0.2, val_fraction=0.1, seed=0
    )
    assert plan.guarantee == ACCOUNT
    assert plan.split[0] == plan.split[50]
    assert set(plan.split[0:10]) == set(plan.split[50:60])
    assert len(plan.split) == 100 and set(plan.split) == {"train", "val", "test"}


def test_when_shared_photos_tie_nearly_everything_it_splits_by_photo_cluster() -> None:
    accounts = _rows([20] * 8)
    # Post 0 of every account is one reposted shot: all eight accounts form one group.
    a = np.zeros(7, np.int64)
    b = np.arange(1, 8) * 20
    plan = plan_split(accounts, a, b, test_fraction=0.2, val_fraction=0.1, seed=0)
    assert plan.guarantee == PHOTO_CLUSTER
    assert "photo clusters" in plan.notes[0]
    assert len(set(plan.split[[0, 20, 40, 60, 80, 100, 120, 140]])) == 1
    f = plan.fractions()
    assert abs(f["test"] - 0.2) <= 0.03 and abs(f["val"] - 0.1) <= 0.03


def test_two_account_groups_get_no_validation_side_and_say_why() -> None:
    plan = plan_split(_rows([30, 10]), *NO_LINKS, test_fraction=0.2, val_fraction=0.1, seed=0)
    assert plan.rows()["val"] == 0
    assert plan.rows()["test"] > 0 and plan.rows()["train"] > 0
    assert any("no validation split" in n for n in plan.notes)


def test_one_account_with_most_rows_stays_whole_and_the_imbalance_is_noted() -> None:
    accounts = _rows([300, 10, 10, 10, 10])
    plan = plan_split(accounts, *NO_LINKS, test_fraction=0.2, val_fraction=0.1, seed=0)
    assert plan.guarantee == ACCOUNT
    assert set(plan.split[:300]) == {"train"}
    assert any("too unequal" in n for n in plan.notes)


def test_the_split_is_deterministic_and_depends_on_the_seed() -> None:
    accounts = _rows([7] * 40)
    one = plan_split(accounts, *NO_LINKS, test_fraction=0.2, val_fraction=0.1, seed=5)
    two = plan_split(accounts, *NO_LINKS, test_fraction=0.2, val_fraction=0.1, seed=5)
    other = plan_split(accounts, *NO_LINKS, test_fraction=0.2, val_fraction=0.1, seed=6)
    assert one.split.tolist() == two.split.tolist()
    assert one.split.tolist() != other.split.tolist()


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_never_share_an_account(k: int) -> None:
    accounts = _rows([3, 9, 4, 12, 5, 6, 8, 2, 7, 10])
    fold = grouped_folds(accounts, k)
    assert set(fold.tolist()) == set(range(k))
    assert all(len(f) == 1 for f in _sides_of(accounts, fold.astype(str)).values())


def test_more_folds_than_accounts_is_refused() -> None:
    with pytest.raises(ValueError, match="5 folds need at least 5 account groups"):
        grouped_folds(_rows([3, 3]), 5)
