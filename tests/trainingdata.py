"""A small training table with images and a planted relation, made at test time.

Each post's image has a "subject": a bright, saturated disk on a dull background. Its size
and brightness (``quality`` q in [0, 1]) drive the likes: ``log_likes = account_level +
signal * z(q) + noise``, so a model that looks at the images can order two posts of the
same account far better than chance; metadata is noise except log_followers, which moves
whole accounts and is useless within one. The table has the contract's columns (see
docs/architecture.md) and pairs.parquet, both written where picme.dataset.build writes them.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from picme.dataset.contract import METADATA_COLUMNS
from picme.features.extractors import FEATURE_COLUMNS, features_from_array


@dataclass
class TrainingData:
    frame: pd.DataFrame
    pairs: pd.DataFrame
    training_dir: Path


def _image(q: float, rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    base = rng.uniform(60, 140, 3).astype(np.float32)
    img = np.ones((size, size, 3), np.float32) * base * 0.6 + base.mean() * 0.4
    cy, cx = rng.uniform(0.35, 0.65, 2) * size
    radius = size * (0.12 + 0.28 * q)
    inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    hue = rng.integers(0, 3)
    color = np.full(3, 90.0 + 120.0 * q, np.float32)
    color[hue] = 200.0 + 55.0 * q
    img[inside] = color
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _features(rgb: np.ndarray) -> dict[str, float]:
    f = features_from_array(rgb)
    return {c: float(f[c]) for c in FEATURE_COLUMNS}


def make_training_data(
    home: Path,
    *,
    n_accounts: int = 8,
    posts: int = 40,
    image_size: int = 96,
    seed: int = 0,
    signal: float = 1.0,
    noise: float = 0.35,
    splits: tuple[int, int, int] | None = None,
    with_features: bool = True,
) -> TrainingData:
    """Write images under ``home/images`` and the training table under ``home/lake``."""
    rng = np.random.default_rng(seed)
    n_train, n_val, n_test = splits or (n_accounts - 3, 1, 2)
    assert n_train + n_val + n_test == n_accounts
    split_of = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    rows = []
    for a in range(n_accounts):
        user = f"acct_{seed}_{a}"
        followers = int(rng.integers(800, 60000))
        level = np.log(followers * rng.uniform(0.02, 0.08))
        q = rng.uniform(0, 1, posts)
        log_likes = level + signal * (q - 0.5) / 0.29 + rng.normal(0, noise, posts)
        folder = home / "images" / user
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(posts):
            img = _image(float(q[i]), rng, image_size)
            path = folder / f"{i:03d}.jpg"
            Image.fromarray(img).save(path, quality=92)
            likes = int(max(1, round(float(np.exp(log_likes[i])))))
            prev = [r["log_likes"] for r in rows if r["owner_username"] == user][-12:]
            row = {
                "shortcode": f"S{seed}x{a:02d}x{i:03d}",
                "owner_username": user,
                "taken_at": start + timedelta(days=i, hours=int(rng.integers(0, 12))),
                "image_path": str(path.resolve()),
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "likes": likes,
                "followers": followers,
                "log_likes": float(np.log(likes)),
                "split": split_of[a],
                "quality": float(q[i]),
            }
            row["baseline_log_likes"] = float(np.median(prev)) if prev else float(level)
            for col in METADATA_COLUMNS:
                row[col] = float(rng.normal())
            if "log_followers" in METADATA_COLUMNS:
                row["log_followers"] = float(np.log(followers))
            if with_features:
                row.update(_features(img))
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["engagement"] = frame["likes"] / frame["followers"]
    frame["log_engagement"] = np.log(frame["engagement"])
    frame["label"] = (frame["engagement"] > frame["engagement"].median()).astype("int64")
    frame["rel_log_likes"] = frame["log_likes"] - frame["baseline_log_likes"]
    frame["label_rel"] = (frame["rel_log_likes"] > 0).astype("int64")
    pairs = _pairs(frame)
    out = home / "lake" / "training"
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out / "training.parquet")
    pq.write_table(pa.Table.from_pandas(pairs, preserve_index=False), out / "pairs.parquet")
    return TrainingData(frame, pairs, out)


def _pairs(frame: pd.DataFrame, margin: float = 0.2, window_days: float = 30) -> pd.DataFrame:
    out = []
    for user, part in frame.groupby("owner_username", sort=False):
        codes = part["shortcode"].to_numpy()
        rel = part["rel_log_likes"].to_numpy()
        when = part["taken_at"].to_numpy()
        split = part["split"].iloc[0]
        for i in range(len(part)):
            for j in range(i + 1, len(part)):
                days = abs((when[i] - when[j]) / np.timedelta64(1, "D"))
                if days <= window_days and abs(rel[i] - rel[j]) > margin:
                    out.append((user, codes[i], codes[j], int(rel[i] > rel[j]), split))
    return pd.DataFrame(
        out, columns=["owner_username", "shortcode_a", "shortcode_b", "target", "split"]
    )


_TEMPLATE_STORE: Path | None = None


def seed_tracking_store(home: Path) -> None:
    """Put an initialised, empty MLflow SQLite store at ``home/mlflow.db``.

    MLflow creates a store by running its ~60 schema migrations (about 12 s on the 2-core
    CI machine); copying one made once per session gives each test its own store for free."""
    global _TEMPLATE_STORE
    if _TEMPLATE_STORE is None:
        from mlflow import MlflowClient  # only tests that need a store pay mlflow's import

        folder = Path(tempfile.mkdtemp(prefix="picme-mlflow-template-"))
        MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}").search_experiments()
        _TEMPLATE_STORE = folder / "mlflow.db"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE_STORE, home / "mlflow.db")


@pytest.fixture
def torch_one_thread() -> Iterator[None]:
    """One intra-op thread: the tests share 2 cores with other test processes, and OpenMP
    threads spinning against each other made these small convolutions 4-6x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_resnet_checkpoint(path: Path, arch: str = "resnet18", seed: int = 0) -> Path:
    """A randomly initialised built-in ResNet saved as torchvision saves its ImageNet
    checkpoints (a plain state dict, classifier ``fc.*`` included), so tests load weights in
    that format without downloading any."""
    import torch

    from picme.models.backbones import BUILTIN_ARCHS

    torch.manual_seed(seed)
    net = BUILTIN_ARCHS[arch]()
    state = dict(net.state_dict())
    state["fc.weight"] = torch.randn(1000, net.out_dim) * 0.01
    state["fc.bias"] = torch.zeros(1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path
