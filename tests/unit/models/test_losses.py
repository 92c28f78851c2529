from __future__ import annotations

import pytest
import torch

from picme.errors import InputError
from picme.models.losses import available_losses, get_loss


def test_every_loss_is_finite_and_differentiable() -> None:
    torch.manual_seed(0)
    for name in available_losses():
        spec = get_loss(name)
        s = torch.randn(8, requires_grad=True)
        t = (torch.rand(8) > 0.5).float()
        value = spec.pairs(s, s.flip(0), t) if spec.kind == "pairs" else spec.rows(s, t)
        value.backward()
        assert torch.isfinite(value) and s.grad is not None and s.grad.abs().sum() > 0


def test_pairwise_rewards_the_right_order() -> None:
    spec = get_loss("pairwise")
    assert spec.kind == "pairs"
    a, b = torch.tensor([3.0, 2.0]), torch.tensor([0.0, -1.0])
    right = spec.pairs(a, b, torch.ones(2))
    wrong = spec.pairs(a, b, torch.zeros(2))
    assert right < 0.1 < 2.0 < wrong


def test_cosine_is_the_posters_cosine_proximity_over_the_batch() -> None:
    spec = get_loss("cosine")
    t = torch.tensor([1.0, -2.0, 0.5])
    assert spec.rows(3 * t, t) == pytest.approx(0.0, abs=1e-6)
    assert spec.rows(-t, t) == pytest.approx(2.0, abs=1e-6)
    assert spec.standardize and spec.target == "log_engagement"


def test_targets_are_documented_choices() -> None:
    assert get_loss("bce").target == "label_rel"
    assert get_loss("mse").target == "log_engagement" and get_loss("mse").standardize
    assert get_loss("mse").rows(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 1.0])) == 2.0


def test_unknown_loss() -> None:
    with pytest.raises(InputError, match="choose one of: bce, cosine, mse, pairwise"):
        get_loss("hinge")
