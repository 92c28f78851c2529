"""Losses by name. Each says what it trains on (rows or same-account pairs) and its target.

=========  ======  =====================================================================
name       batches target
=========  ======  =====================================================================
bce        rows    ``label_rel``: 1 when the post beat its account's usual result (likes
                   above the rolling baseline). The poster's absolute label (likes/followers
                   above a threshold) is mostly a property of the account, which no photo
                   can change; the relative label is what makes learning possible *within*
                   an account, the question curation asks.
mse        rows    ``log_engagement`` (log likes/followers), standardised with the training
                   split's mean and standard deviation.
cosine     rows    the same standardised target; the poster's "cosine proximity": one minus
                   the cosine between the batch's score vector and its target vector (Keras'
                   per-sample form is degenerate for a single output, so the batch is the
                   vector).
pairwise   pairs   RankNet: logistic loss on ``score_a - score_b`` for two posts of the same
                   account, target 1 when ``a`` did better (``pairs.parquet``), as the anchor
                   paper ranks within an account.
=========  ======  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from picme.errors import InputError

RowsLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class LossSpec:
    name: str
    kind: str  # "rows" or "pairs"
    target: str  # training-table column
    standardize: bool
    fn: RowsLoss  # rows: (scores, targets); pairs: (score_a - score_b, targets)

    def rows(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.fn(scores.float(), target.float())

    def pairs(self, sa: torch.Tensor, sb: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.fn((sa - sb).float(), target.float())


LOSS_REGISTRY: dict[str, LossSpec] = {}


def register_loss(spec: LossSpec) -> LossSpec:
    LOSS_REGISTRY[spec.name] = spec
    return spec


def _bce(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(scores, target)


def _mse(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(scores, target)


def _cosine(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return 1.0 - F.cosine_similarity(scores.reshape(1, -1), target.reshape(1, -1), eps=1e-6)[0]


register_loss(LossSpec("bce", "rows", "label_rel", False, _bce))
register_loss(LossSpec("mse", "rows", "log_engagement", True, _mse))
register_loss(LossSpec("cosine", "rows", "log_engagement", True, _cosine))
# The pair target comes from pairs.parquet; rel_log_likes orders pairs made from rows.
register_loss(LossSpec("pairwise", "pairs", "rel_log_likes", False, _bce))


def available_losses() -> list[str]:
    return sorted(LOSS_REGISTRY)


def get_loss(name: str) -> LossSpec:
    try:
        return LOSS_REGISTRY[name]
    except KeyError:
        raise InputError(
            f"unknown loss {name!r}; choose one of: {', '.join(available_losses())}"
        ) from None
