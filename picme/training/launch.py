"""Multi-GPU training as a ``torchrun`` subprocess, for callers that must not become a DDP
process themselves (a Prefect flow run: Lightning's DDP re-executes the command line, which
for a flow run is the worker's, not ``picme train``).

:func:`torchrun_command` builds the command: ``python -m torch.distributed.run --standalone
--nproc-per-node N -m picme.training.launch CONFIG SETTINGS RESULT``. Each rank runs
:func:`picme.training.run.train_and_register` with the same configuration and settings
(JSON files); rank 0, the only one that logs to MLflow and registers, writes the outcome to
RESULT. :func:`train_distributed` runs it and reads that back.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picme.errors import InputError, PicmeError
from picme.training.config import TrainConfig
from picme.util.atomic import atomic_open

if TYPE_CHECKING:
    from picme.settings import Settings

RESULT_KEYS = ("summary", "run_id", "version", "promoted", "reason", "metrics")


def torchrun_command(
    devices: int, config: Path, settings: Path, result: Path, python: str = sys.executable
) -> list[str]:
    """The command that trains on ``devices`` GPUs of this machine, one process each."""
    return [
        python, "-m", "torch.distributed.run",
        # One machine: a rendezvous on a free local port, no etcd or master address to give.
        "--standalone", f"--nproc-per-node={devices}",
        "-m", "picme.training.launch", str(config), str(settings), str(result),
    ]  # fmt: skip


def check_distributed(cfg: TrainConfig) -> None:
    """DDP trains one named network: every rank must fit the same model, so the choice by
    cross-validation (auto) and the tabular rankers (one process, no GPU) are refused."""
    from picme.models import available_models

    if cfg.model not in available_models() or cfg.cv:
        raise InputError(
            f"--devices {cfg.devices} trains one network with DDP: name it with --model "
            f"({', '.join(available_models())}) and leave --cv off (got --model {cfg.model})"
        )


def outcome(result: Any) -> dict[str, Any]:
    """The JSON-able part of a TrainResult that a caller in another process needs."""
    return {
        "summary": result.summary(),
        "run_id": result.run_id,
        "version": None if result.version is None else str(result.version),
        "promoted": bool(result.promoted),
        "reason": str(result.reason),
        "metrics": {k: float(v) for k, v in (result.metrics or {}).items()},
    }


def train_distributed(
    cfg: TrainConfig, settings: Settings, timeout: float | None = None
) -> dict[str, Any]:
    """Trains with DDP on ``cfg.devices`` GPUs in a torchrun subprocess; rank 0's outcome
    (:data:`RESULT_KEYS`). Its output goes to this process's stdout and stderr."""
    check_distributed(cfg)
    with tempfile.TemporaryDirectory(prefix="picme-ddp-") as tmp:
        work = Path(tmp)
        config, payload, result = work / "config.json", work / "settings.json", work / "result.json"
        config.write_text(json.dumps(dataclasses.asdict(cfg)))
        payload.write_text(settings.model_dump_json())
        cmd = torchrun_command(cfg.devices, config, payload, result)
        proc = subprocess.Popen(cmd, start_new_session=False)
        try:
            code = proc.wait(timeout=timeout)
        except BaseException:
            # Ctrl-C, a cancelled flow run or the timeout: torchrun stops its ranks on SIGTERM.
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise
        if code != 0 or not result.exists():
            raise PicmeError(
                f"distributed training on {cfg.devices} devices failed (torchrun exited "
                f"with {code}); the ranks' errors are in the output above"
            )
        out: dict[str, Any] = json.loads(result.read_text())
    return out


def main(argv: list[str]) -> None:
    """One rank: train with the given configuration and settings; rank 0 writes the result."""
    from picme.settings import Settings
    from picme.training.run import launched_rank, train_and_register

    config, payload, result = (Path(a) for a in argv)
    cfg = TrainConfig(**json.loads(config.read_text()))
    settings = Settings(**json.loads(payload.read_text()))
    trained = train_and_register(cfg, settings)
    if launched_rank() == 0:
        with atomic_open(result) as fh:
            json.dump(outcome(trained), fh)


if __name__ == "__main__":
    # torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; Lightning's Trainer reads them and
    # joins the process group instead of launching processes of its own.
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main(sys.argv[1:])
