"""The training stage's options, declared once.

``picme train`` turns the fields into its command-line options (:mod:`picme.cli.options`),
the Prefect flows take a ``TrainConfig`` as a parameter (so a deployment shows each field's
description) and :func:`picme.training.run.train_and_register` reads it. Fields marked
``{"cli": False}`` are for tests, benchmarks and larger machines, not for the CLI contract.

A pydantic dataclass rather than a BaseModel: a BaseModel field named ``register`` shadows
``ABCMeta.register``, and the trainer copies the configuration with :func:`copy.copy` and
logs it with :func:`dataclasses.asdict`, which a dataclass supports as it is.
"""

from __future__ import annotations

from pydantic import Field
from pydantic.dataclasses import dataclass

from picme.errors import InputError


@dataclass
class TrainConfig:
    """What to train and how: the model, its loss and the optimisation settings."""

    model: str = Field(
        default="auto",
        description="auto (choose by cross-validation on the training accounts), ranker, "
        "linear-pairwise, seed-cnn, metadata, fusion or backbone.",
    )
    loss: str = Field(
        default="pairwise",
        description="bce, mse, cosine or pairwise (the networks; the rankers have their own).",
    )
    epochs: int | None = Field(default=None, description="Default: per model.")
    batch_size: int = Field(default=32, description="Examples (or pairs) per batch.")
    lr: float = Field(default=1e-3, description="Learning rate of AdamW.")
    image_size: int | None = Field(default=None, description="Default: per model.")
    arch: str | None = Field(default=None, description="Backbone architecture (default resnet50).")
    weights: str | None = Field(
        default=None, description="Pretrained weights file (never downloaded)."
    )
    from_scratch: bool = Field(default=False, description="Backbone from random initialisation.")
    embeddings: str | None = Field(
        default=None,
        description="A torchvision-format checkpoint (resnet18/34/50, never downloaded) whose "
        "frozen features, projected to a few components, feed the tabular rankers "
        "(ranker, linear-pairwise, auto) as columns emb_0, emb_1, ...",
    )
    embed_size: int = Field(
        default=224,
        description="Side in px of the images the frozen embedding backbone sees.",
        json_schema_extra={"cli": False},
    )
    embed_components: int = Field(
        default=16,
        description="Principal components of the embeddings kept as ranker columns.",
        json_schema_extra={"cli": False},
    )
    cv: int = Field(
        default=0,
        description="Cross-validate with K folds grouped by account and report the headline "
        "as their mean and interval; the model is then fitted on all training accounts "
        "(auto uses 5 folds unless given).",
    )
    personal: bool = Field(
        default=False,
        description="Train your personal ranker (model picme-personal) from your keep/reject "
        "feedback, on top of the champion's score; it is promoted only if it beats the "
        "champion and the heuristic on held-out feedback (--model: auto, ranker or "
        "linear-pairwise).",
        json_schema_extra={"cli": "--personal"},
    )
    register: bool = Field(
        default=True, description="Register the model in MLflow and let the champion gate decide."
    )
    devices: int = Field(
        default=1, description="GPUs to use; more than 1 trains with DDP (one process each)."
    )
    accelerator: str = Field(
        default="auto",
        description="Lightning accelerator: auto (a GPU when present), gpu or cpu.",
        json_schema_extra={"cli": False},
    )
    precision: str = Field(
        default="auto",
        description="Lightning precision: auto (bf16-mixed on a GPU that supports bf16, "
        "16-mixed on an older GPU, 32-true on the CPU), bf16-mixed, 16-mixed or 32-true.",
        json_schema_extra={"cli": False},
    )
    seed: int | None = Field(default=None, description="Default: PICME_SEED.")
    num_workers: int = Field(
        default=0,
        description="DataLoader worker processes (0: load in the training process).",
        json_schema_extra={"cli": False},
    )
    patience: int = Field(
        default=3,
        description="Epochs without a lower validation loss before training stops early.",
        json_schema_extra={"cli": False},
    )
    meta_dropout: float = Field(
        default=0.3,
        description="Probability of hiding an example's metadata during training, so the "
        "model also ranks images that come without caption, time or followers.",
        json_schema_extra={"cli": False},
    )
    use_cache: bool = Field(
        default=True,
        description="Keep decoded images in PICME_HOME's cache, so later runs skip decoding.",
        json_schema_extra={"cli": False},
    )
    fast_dev_run: bool = Field(
        default=False,
        description="One batch of each split, no early stopping (Lightning's smoke test).",
        json_schema_extra={"cli": False},
    )
    saliency_examples: int = Field(
        default=3,
        description="Test images whose saliency maps are logged.",
        json_schema_extra={"cli": False},
    )
    plots: bool = Field(
        default=True,
        description="Log the evaluation plots with the run.",
        json_schema_extra={"cli": False},
    )
    pairs_per_epoch: int | None = Field(
        default=None,
        description="At most this many training pairs per epoch (default: all).",
        json_schema_extra={"cli": False},
    )


PRECISIONS = ("auto", "bf16-mixed", "16-mixed", "32-true")


def choose_precision(requested: str, on_gpu: bool, bf16_supported: bool) -> str:
    """Lightning's precision for a run: bf16 mixed precision on a GPU that has bf16
    (Ampere and later), fp16 mixed (with loss scaling) on older GPUs, fp32 on the CPU,
    unless ``requested`` names one."""
    if requested not in PRECISIONS:
        raise InputError(
            f"precision {requested!r} is unknown; choose one of: {', '.join(PRECISIONS)}"
        )
    if requested != "auto":
        return requested
    if not on_gpu:
        return "32-true"
    return "bf16-mixed" if bf16_supported else "16-mixed"


def check_devices(cfg: TrainConfig, gpus: int) -> None:
    """More than one device is DDP: one process per GPU, so that many GPUs must be there
    (on the CPU, ``accelerator="cpu"`` runs N processes, which tests use)."""
    if cfg.devices < 1:
        raise InputError(f"--devices must be at least 1 (got {cfg.devices})")
    if cfg.devices > 1 and cfg.accelerator != "cpu" and gpus < cfg.devices:
        raise InputError(
            f"--devices {cfg.devices} asks for {cfg.devices} GPUs but torch sees {gpus}; "
            "give at most that many, or run on a machine with more (a CUDA build of torch)"
        )
