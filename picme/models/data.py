"""Training data: the training table, a decoded-image cache, datasets and the
LightningDataModule.

Decoded cache: each image is decoded once (``picme.features.decode.decode_image``),
square-resized to the model's size and stored as a uint8 ``.npy`` under
``cache/decoded/<size>/<sha256>.npy`` (written then renamed). Epochs, later runs and the
evaluation read these arrays instead of decoding JPEGs again; one split's images sit in
memory as one (N, S, S, 3) uint8 array.

Augmentations keep what the label depends on: a horizontal flip and a mild random crop
(at least 85% of the side, resized back). No colour, brightness or blur jitter: exposure,
colour and sharpness are exactly what makes one photo do better than another.
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from picme.errors import InputError
from picme.models.losses import LossSpec
from picme.models.metrics import pairs_from_rows
from picme.models.preprocess import Preprocessing, fit_stats, square_resize

if TYPE_CHECKING:
    from picme.settings import Settings

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ["shortcode", "owner_username", "image_path", "split"]
SPLITS = ("train", "val", "test")


def training_dir(settings: Settings) -> Path:
    return settings.lake_dir / "training"


def load_training_frame(settings: Settings) -> pd.DataFrame:
    """The training table as a DataFrame, with a clear message when it is missing or bad."""
    import pyarrow.parquet as pq

    path = training_dir(settings) / "training.parquet"
    if not path.exists():
        raise InputError(f"{path}: no training table yet; run `picme features` first")
    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:
        raise InputError(f"{path}: cannot read ({exc}); rebuild it with `picme features`") from exc
    return validate_frame(frame, str(path))


def validate_frame(frame: pd.DataFrame, where: str = "training table") -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{where}: missing columns {missing}; rebuild it with `picme features`")
    counts = frame["split"].value_counts()
    empty = [s for s in ("train", "test") if counts.get(s, 0) == 0]
    if empty:
        raise InputError(
            f"{where}: no rows in split(s) {empty} ({len(frame)} rows in all); "
            "add data (more accounts or posts) and run `picme features` again"
        )
    return frame.reset_index(drop=True)


def load_pairs_frame(settings: Settings) -> pd.DataFrame | None:
    import pyarrow.parquet as pq

    path = training_dir(settings) / "pairs.parquet"
    if not path.exists():
        return None
    return pq.read_table(path).to_pandas()


def meta_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(all metadata columns in model order, the image-feature subset), those in ``frame``."""
    from picme.dataset.contract import METADATA_COLUMNS
    from picme.features.extractors import FEATURE_COLUMNS

    meta = [c for c in METADATA_COLUMNS if c in frame.columns]
    feats = [c for c in FEATURE_COLUMNS if c in frame.columns]
    return meta + feats, feats


def raw_meta_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    out = np.full((len(frame), len(columns)), np.nan, np.float32)
    for j, c in enumerate(columns):
        if c in frame.columns:
            out[:, j] = pd.to_numeric(frame[c], errors="coerce").astype("float64").to_numpy()
    return out


def fit_preprocessing(
    frame: pd.DataFrame,
    *,
    model: str,
    loss: LossSpec,
    image_size: int,
    model_kwargs: dict[str, Any] | None = None,
) -> Preprocessing:
    """Metadata and target statistics from the training split only."""
    columns, feats = meta_columns(frame)
    train = frame[frame["split"] == "train"]
    mean, std = fit_stats(raw_meta_matrix(train, columns))
    t_mean, t_std = 0.0, 1.0
    if loss.standardize:
        if loss.target not in frame.columns:
            raise InputError(f"training table: column {loss.target!r} needed by loss {loss.name}")
        t = pd.to_numeric(train[loss.target], errors="coerce").to_numpy(np.float64)
        t = t[np.isfinite(t)]
        if t.size:
            t_mean = float(t.mean())
            t_std = float(t.std()) if t.size > 1 and t.std() > 1e-8 else 1.0
    return Preprocessing(
        model=model,
        loss=loss.name,
        image_size=image_size,
        meta_columns=columns,
        feature_columns=feats,
        meta_mean=mean,
        meta_std=std,
        model_kwargs=dict(model_kwargs or {}),
        target=loss.target,
        target_mean=t_mean,
        target_std=t_std,
    )


def _cache_key(path: str, sha: object) -> str:
    if isinstance(sha, str) and len(sha) >= 16:
        return sha
    return "p" + hashlib.sha256(os.fsencode(path)).hexdigest()


def decode_square(path: str, size: int) -> np.ndarray:
    """Decode at a bounded size (twice the target keeps the short side >= size for aspect
    ratios up to 2:1), then square-resize."""
    from picme.features.decode import decode_image

    return square_resize(decode_image(path, max_side=2 * size), size)


def _decode_for_cache(job: tuple[str, str, int]) -> tuple[str, str | None]:
    path, target, size = job
    try:
        arr = decode_square(path, size)
    except Exception as exc:  # reported per file; one bad image must not stop the run
        return path, f"{type(exc).__name__}: {exc}"
    _save_npy(Path(target), arr)
    return path, None


def _save_npy(target: Path, arr: np.ndarray) -> None:
    from picme.util.atomic import atomic_path

    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)


class DecodedCache:
    """uint8 square images keyed by content hash and size, one ``.npy`` each."""

    def __init__(self, root: Path, size: int, workers: int = 1) -> None:
        self.root = Path(root) / "decoded" / str(size)
        self.size = size
        self.workers = max(1, workers)

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def load(
        self, paths: list[str], shas: list[object] | None = None
    ) -> tuple[np.ndarray, list[str | None]]:
        """(N, S, S, 3) uint8 and, per image, None or why it could not be decoded (its
        slot is then black and the caller drops the row)."""
        shas = shas if shas is not None else [None] * len(paths)
        keys = [_cache_key(p, s) for p, s in zip(paths, shas, strict=True)]
        errors: dict[str, str] = {}
        jobs = {}
        for p, k in zip(paths, keys, strict=True):
            if k not in jobs and not self.path_for(k).exists():
                jobs[k] = (p, str(self.path_for(k)), self.size)
        if jobs:
            log.info("decoding %d images into the cache at %d px", len(jobs), self.size)
            todo = list(jobs.values())
            if self.workers > 1 and len(todo) >= 32:
                # Threads: Pillow's decoder and OpenCV's resize release the GIL, and a thread
                # pool needs no picklable __main__ (a process pool breaks scripts without a
                # main guard) and no start-up time.
                with ThreadPoolExecutor(self.workers) as pool:
                    results = list(pool.map(_decode_for_cache, todo))
            else:
                results = [_decode_for_cache(j) for j in todo]
            errors = {p: e for p, e in results if e is not None}
        out = np.zeros((len(paths), self.size, self.size, 3), np.uint8)
        reasons: list[str | None] = []
        for i, (p, k) in enumerate(zip(paths, keys, strict=True)):
            if p in errors:
                reasons.append(errors[p])
                continue
            try:
                out[i] = np.load(self.path_for(k), allow_pickle=False)
                reasons.append(None)
            except Exception as exc:  # a damaged cache entry: decode again next time
                self.path_for(k).unlink(missing_ok=True)
                reasons.append(f"cache entry unreadable: {exc}")
        return out, reasons


def _augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

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


def split_pairs(
    split_frame: pd.DataFrame,
    pairs: pd.DataFrame | None,
    split: str,
    order_column: str = "rel_log_likes",
    margin: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same-account pairs as row indices of ``split_frame``: pairs.parquet's when it has
    any for this split, else all pairs of the split's rows ordered by ``order_column``."""
    if pairs is not None and len(pairs):
        p = pairs[pairs["split"] == split] if "split" in pairs.columns else pairs
        pos = {s: i for i, s in enumerate(split_frame["shortcode"].tolist())}
        a = p["shortcode_a"].map(pos)
        b = p["shortcode_b"].map(pos)
        ok = a.notna() & b.notna()
        if ok.any():
            return (
                a[ok].to_numpy(np.int64),
                b[ok].to_numpy(np.int64),
                p.loc[ok, "target"].to_numpy(np.float32),
            )
    col = order_column if order_column in split_frame.columns else "log_likes"
    if col not in split_frame.columns:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    values = pd.to_numeric(split_frame[col], errors="coerce").to_numpy(np.float64)
    return pairs_from_rows(split_frame["owner_username"].tolist(), values, margin)


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
