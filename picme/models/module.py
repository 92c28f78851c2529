"""The LightningModule: any registered network with any registered loss.

Validation always scores rows; ``val/loss`` is the training loss over the whole validation
split (for ``pairwise``, over its same-account pairs) and ``val/pairwise_acc`` is the
headline metric on the validation split.

Metadata dropout: during training each example's metadata columns (not its image features)
are set to neutral (0 after standardisation, the training mean) with probability
``meta_dropout``. Album photos are scored exactly that way, so the model learns to rank
images that come without caption, posting time or follower count.
"""

from __future__ import annotations

from typing import Any, cast

import lightning as L
import numpy as np
import torch

from picme.models.losses import LossSpec
from picme.models.metrics import pairwise_accuracy
from picme.models.nets import PicmeNet


class ScoringModule(L.LightningModule):
    neutral_mask: torch.Tensor

    def __init__(
        self,
        net: PicmeNet,
        loss: LossSpec,
        *,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        max_epochs: int = 10,
        meta_dropout: float = 0.3,
        neutral_mask: np.ndarray | None = None,
        val_pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        val_target: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.loss = loss
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.meta_dropout = meta_dropout
        mask = torch.as_tensor(
            neutral_mask if neutral_mask is not None else np.zeros(0, bool), dtype=torch.bool
        )
        self.register_buffer("neutral_mask", mask, persistent=False)
        self.val_pairs = val_pairs
        self.val_target = val_target
        self.history: list[dict[str, float]] = []
        self._val_idx: list[torch.Tensor] = []
        self._val_scores: list[torch.Tensor] = []
        self._train_losses: list[float] = []

    def forward(self, images: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        return self.net(images, meta)

    def _drop_meta(self, meta: torch.Tensor) -> torch.Tensor:
        if self.meta_dropout <= 0 or self.neutral_mask.numel() == 0 or not self.training:
            return meta
        drop = torch.rand(meta.shape[0], 1, device=meta.device) < self.meta_dropout
        return torch.where(drop & self.neutral_mask.view(1, -1), torch.zeros_like(meta), meta)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self.loss.kind == "pairs":
            sa = self.net(batch["image_a"], self._drop_meta(batch["meta_a"]))
            sb = self.net(batch["image_b"], self._drop_meta(batch["meta_b"]))
            loss = self.loss.pairs(sa, sb, batch["target"])
            n = sa.shape[0]
        else:
            s = self.net(batch["image"], self._drop_meta(batch["meta"]))
            loss = self.loss.rows(s, batch["target"])
            n = s.shape[0]
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        self._train_losses.append(float(loss.detach()))
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        s = self.net(batch["image"], batch["meta"])
        self._val_idx.append(batch["idx"].detach())
        self._val_scores.append(s.detach().float())

    def on_validation_epoch_start(self) -> None:
        self._val_idx.clear()
        self._val_scores.clear()

    def _gathered_scores(self) -> np.ndarray | None:
        if not self._val_scores:
            return None
        idx = torch.cat(self._val_idx)
        scores = torch.cat(self._val_scores)
        if self.trainer.world_size > 1:
            idx = cast(torch.Tensor, self.all_gather(idx)).reshape(-1)
            scores = cast(torch.Tensor, self.all_gather(scores)).reshape(-1)
        # Sized by the split, not by what was seen: fast_dev_run and limit_val_batches
        # score only part of it, and pairs index the whole split.
        n = len(self.val_target) if self.val_target is not None else int(idx.max().item()) + 1
        n = max(n, int(idx.max().item()) + 1)
        out = np.full(n, np.nan, np.float64)
        out[idx.cpu().numpy()] = scores.cpu().numpy()
        return out

    def on_validation_epoch_end(self) -> None:
        scores = self._gathered_scores()
        if scores is None:
            return
        metrics: dict[str, float] = {}
        if self.val_pairs is not None and len(self.val_pairs[0]):
            a, b, t = self.val_pairs
            metrics["val/pairwise_acc"] = pairwise_accuracy(scores, a, b, t)
        if self.loss.kind == "pairs":
            if self.val_pairs is not None and len(self.val_pairs[0]):
                a, b, t = self.val_pairs
                sa = torch.from_numpy(scores[a])
                sb = torch.from_numpy(scores[b])
                metrics["val/loss"] = float(self.loss.pairs(sa, sb, torch.from_numpy(t)))
        elif self.val_target is not None:
            t = self.val_target[: len(scores)]
            ok = np.isfinite(t) & np.isfinite(scores)
            if ok.any():
                metrics["val/loss"] = float(
                    self.loss.rows(torch.from_numpy(scores[ok]), torch.from_numpy(t[ok]))
                )
        for k, v in metrics.items():
            if np.isfinite(v):
                self.log(k, v, prog_bar=k == "val/pairwise_acc", sync_dist=False)
        if not self.trainer.sanity_checking:
            row = {"epoch": float(self.current_epoch), **metrics}
            if self._train_losses:
                row["train/loss"] = float(np.mean(self._train_losses))
            self.history.append(row)
        self._train_losses.clear()

    def configure_optimizers(self) -> Any:
        opt = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.max_epochs))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
