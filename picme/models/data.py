"""Datasets and the LightningDataModule over the training table.

Images come from the decoded cache (``picme.models.cache``) as one uint8 array per split, or
are decoded per item without it. Augmentations keep what the label depends on: a horizontal
flip and a mild random crop (at least 85% of the side, resized back). No colour, brightness
or blur jitter: exposure, colour and sharpness are exactly what makes one photo do better
than another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from picme.errors import InputError
from picme.models.cache import DecodedCache, decode_square
from picme.models.losses import LossSpec
from picme.models.preprocess import Preprocessing
from picme.models.table import SPLITS, raw_meta_matrix, split_pairs

log = logging.getLogger(__name__)


def _augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    s = img.shape[0]
    if rng.random() < 0.5:
        img = img[:, ::-1]
    side = int(round(s * rng.uniform(0.85, 1.0)))
    if side < s:
        top, left = rng.integers(0, s - side + 1, size=2)
        img = cv2.resize(
            np.ascontiguousarray(img[top : top + side, left : left + side]),
            (s, s),
            interpolation=cv2.INTER_LINEAR,
        )
    return np.ascontiguousarray(img)


class RowsDataset(Dataset):
    """One example per post: (index, image uint8 HWC, standardised metadata, target).

    ``images`` is the cached (N, S, S, 3) array; without it (``paths``) each item is
    decoded from its file, which is what the cache saves and what the benchmark compares."""

    def __init__(
        self,
        meta: np.ndarray,
        target: np.ndarray,
        *,
        images: np.ndarray | None = None,
        paths: list[str] | None = None,
        size: int = 0,
        augment: bool = False,
        seed: int = 0,
        with_images: bool = True,
    ) -> None:
        self.meta = torch.from_numpy(np.ascontiguousarray(meta, np.float32))
        self.target = torch.from_numpy(np.ascontiguousarray(target, np.float32))
        self.images = images
        self.paths = paths
        self.size = size
        self.augment = augment
        self.seed = seed
        self.with_images = with_images
        self._epoch_rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return int(self.meta.shape[0])

    def image(self, i: int) -> torch.Tensor:
        if not self.with_images:
            return torch.zeros((1, 1, 3), dtype=torch.uint8)
        if self.images is not None:
            img = self.images[i]
        else:
            assert self.paths is not None
            img = decode_square(self.paths[i], self.size)
        if self.augment:
            img = _augment(img, self._epoch_rng)
        return torch.from_numpy(np.ascontiguousarray(img))

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "idx": torch.tensor(i),
            "image": self.image(i),
            "meta": self.meta[i],
            "target": self.target[i],
        }


class PairsDataset(Dataset):
    def __init__(self, rows: RowsDataset, a: np.ndarray, b: np.ndarray, target: np.ndarray):
        self.rows = rows
        self.a, self.b = a.astype(np.int64), b.astype(np.int64)
        self.target = torch.from_numpy(np.ascontiguousarray(target, np.float32))

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        i, j = int(self.a[k]), int(self.b[k])
        return {
            "image_a": self.rows.image(i),
            "meta_a": self.rows.meta[i],
            "image_b": self.rows.image(j),
            "meta_b": self.rows.meta[j],
            "target": self.target[k],
        }


def _worker_seed(worker_id: int) -> None:
    info = torch.utils.data.get_worker_info()
    if info is not None:
        ds = info.dataset
        base: Any = getattr(ds, "rows", ds)
        base._epoch_rng = np.random.default_rng(int(info.seed) % (2**32))


@dataclass
class SplitData:
    frame: pd.DataFrame
    images: np.ndarray | None
    meta_raw: np.ndarray
    meta: np.ndarray
    target: np.ndarray
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]


class PicmeDataModule(L.LightningDataModule):
    """Rows (or same-account pairs for the pairwise loss) from the training table.

    ``train`` is shuffled and augmented; ``val`` and ``test`` are rows in table order (the
    batches carry their row index, so DDP ranks can be gathered back into order)."""

    def __init__(
        self,
        frame: pd.DataFrame,
        prep: Preprocessing,
        loss: LossSpec,
        *,
        batch_size: int = 32,
        cache: DecodedCache | None = None,
        pairs: pd.DataFrame | None = None,
        num_workers: int = 0,
        seed: int = 0,
        augment: bool = True,
        uses_image: bool = True,
        pairs_per_epoch: int | None = None,
        pair_margin: float = 0.0,
    ) -> None:
        super().__init__()
        self.frame = frame.reset_index(drop=True)
        self.prep = prep
        self.loss = loss
        self.batch_size = batch_size
        self.cache = cache
        self.pairs_frame = pairs
        self.num_workers = num_workers
        self.seed = seed
        self.augment = augment
        self.uses_image = uses_image
        self.pairs_per_epoch = pairs_per_epoch
        self.pair_margin = pair_margin
        self.splits: dict[str, SplitData] = {}
        self.dropped: list[tuple[str, str]] = []

    def _target(self, frame: pd.DataFrame) -> np.ndarray:
        col = self.loss.target
        if col not in frame.columns:
            return np.full(len(frame), np.nan, np.float32)
        t = pd.to_numeric(frame[col], errors="coerce").to_numpy(np.float64)
        if self.loss.standardize:
            t = (t - self.prep.target_mean) / self.prep.target_std
        return t.astype(np.float32)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        for split in SPLITS:
            part = self.frame[self.frame["split"] == split].reset_index(drop=True)
            images = None
            if self.uses_image and self.cache is not None and len(part):
                images, reasons = self.cache.load(
                    part["image_path"].astype(str).tolist(),
                    part["sha256"].tolist() if "sha256" in part.columns else None,
                )
                bad = [i for i, r in enumerate(reasons) if r is not None]
                if bad:
                    for i in bad:
                        self.dropped.append((str(part.at[i, "image_path"]), str(reasons[i])))
                    log.warning("%s: %d images could not be decoded; rows dropped", split, len(bad))
                    keep = np.array([r is None for r in reasons])
                    part = part[keep].reset_index(drop=True)
                    images = images[keep]
            if self.loss.kind == "rows" and split == "train":
                t = self._target(part)
                keep = np.isfinite(t)
                if not keep.all():
                    part = part[keep].reset_index(drop=True)
                    images = images[keep] if images is not None else None
            meta_raw = raw_meta_matrix(part, self.prep.meta_columns)
            self.splits[split] = SplitData(
                frame=part,
                images=images,
                meta_raw=meta_raw,
                meta=self.prep.standardize(meta_raw),
                target=self._target(part),
                pairs=split_pairs(part, self.pairs_frame, split, margin=self.pair_margin),
            )
        if len(self.splits["train"].frame) == 0:
            raise InputError("training table: no usable training rows (images not decodable?)")

    def rows_dataset(self, split: str, augment: bool = False) -> RowsDataset:
        d = self.splits[split]
        return RowsDataset(
            d.meta,
            np.nan_to_num(d.target, nan=0.0),
            images=d.images,
            paths=None if d.images is not None else d.frame["image_path"].astype(str).tolist(),
            size=self.prep.image_size,
            augment=augment and self.augment,
            seed=self.seed,
            with_images=self.uses_image,
        )

    def _loader(self, ds: Dataset, *, shuffle: bool, sampler: Any = None) -> DataLoader:
        return DataLoader(
            ds,
            batch_size=self.batch_size,
            shuffle=shuffle if sampler is None else False,
            sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
            worker_init_fn=_worker_seed if self.num_workers > 0 else None,
            drop_last=False,
        )

    def train_dataloader(self) -> DataLoader:
        rows = self.rows_dataset("train", augment=True)
        if self.loss.kind == "pairs":
            a, b, t = self.splits["train"].pairs
            if len(a) == 0:
                raise InputError(
                    "training table: no same-account pairs in the train split; the pairwise "
                    "loss needs accounts with several posts (or choose --loss bce)"
                )
            ds = PairsDataset(rows, a, b, t)
            cap = self.pairs_per_epoch or len(rows)
            g = torch.Generator().manual_seed(self.seed)
            sampler = RandomSampler(ds, num_samples=min(len(ds), cap), generator=g)
            return self._loader(ds, shuffle=False, sampler=sampler)
        return self._loader(rows, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        split = "val" if len(self.splits["val"].frame) else "train"
        return self._loader(self.rows_dataset(split), shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.rows_dataset("test"), shuffle=False)

    @property
    def val_split(self) -> str:
        return "val" if len(self.splits["val"].frame) else "train"
