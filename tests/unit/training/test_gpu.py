"""The GPU parts of training that a CPU can check: the precision chosen per device, the
device count checked before any data is read, and the torchrun subprocess a flow starts
for DDP (its command as torchrun parses it, the configuration and settings handed to each
rank, rank 0's result read back, a failed run reported in one line)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from picme.errors import InputError, PicmeError
from picme.settings import get_settings
from picme.training import launch
from picme.training.config import TrainConfig, check_devices, choose_precision


@pytest.mark.parametrize(
    ("requested", "on_gpu", "bf16", "expected"),
    [
        ("auto", True, True, "bf16-mixed"),  # Ampere and later
        ("auto", True, False, "16-mixed"),  # V100, T4: no bf16
        ("auto", False, False, "32-true"),
        ("32-true", True, True, "32-true"),
        ("bf16-mixed", False, False, "bf16-mixed"),
    ],
)
def test_precision_per_device(requested: str, on_gpu: bool, bf16: bool, expected: str) -> None:
    assert choose_precision(requested, on_gpu, bf16) == expected


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(InputError, match="precision 'fp8' is unknown"):
        choose_precision("fp8", True, True)


def test_devices_need_that_many_gpus() -> None:
    with pytest.raises(InputError, match="--devices 4 asks for 4 GPUs but torch sees 2"):
        check_devices(TrainConfig(devices=4), gpus=2)
    with pytest.raises(InputError, match="at least 1"):
        check_devices(TrainConfig(devices=0), gpus=8)
    check_devices(TrainConfig(devices=2), gpus=2)
    check_devices(TrainConfig(devices=2, accelerator="cpu"), gpus=0)  # gloo processes


def test_torchrun_command_as_torchrun_parses_it(tmp_path: Path) -> None:
    from torch.distributed.run import get_args_parser

    files = [tmp_path / "config.json", tmp_path / "settings.json", tmp_path / "result.json"]
    cmd = launch.torchrun_command(4, *files, python="/venv/bin/python")
    assert cmd[:3] == ["/venv/bin/python", "-m", "torch.distributed.run"]
    args = get_args_parser().parse_args(cmd[3:])
    assert args.standalone and args.module and str(args.nproc_per_node) == "4"
    assert args.training_script == "picme.training.launch"
    assert args.training_script_args == [str(f) for f in files]


def test_ddp_needs_a_named_network() -> None:
    settings = get_settings()
    for cfg in (TrainConfig(devices=2), TrainConfig(model="ranker", devices=2),
                TrainConfig(model="fusion", devices=2, cv=3)):  # fmt: skip
        with pytest.raises(InputError, match="trains one network with DDP"):
            launch.train_distributed(cfg, settings)


def test_each_rank_gets_the_config_and_rank_zero_writes_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[TrainConfig, Path]] = []

    def fake_train(cfg: TrainConfig, settings: object) -> SimpleNamespace:
        seen.append((cfg, settings.home))  # type: ignore[attr-defined]
        return SimpleNamespace(
            summary=lambda: "trained", run_id="r1", version=3, promoted=True,
            reason="beats the champion", metrics={"test/pairwise_acc": 0.75},
        )  # fmt: skip

    # The real module imports Lightning and MLflow (seconds); main needs these two names.
    fake_run = ModuleType("picme.training.run")
    fake_run.train_and_register = fake_train  # type: ignore[attr-defined]
    fake_run.launched_rank = lambda: int(os.environ.get("RANK", "0"))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picme.training.run", fake_run)
    cfg = TrainConfig(model="fusion", devices=2, epochs=3, accelerator="gpu", num_workers=4)
    config, payload, result = tmp_path / "c.json", tmp_path / "s.json", tmp_path / "r.json"
    config.write_text(json.dumps(dataclasses.asdict(cfg)))
    payload.write_text(get_settings(home=tmp_path / "home", seed=7).model_dump_json())

    monkeypatch.setenv("RANK", "1")
    launch.main([str(config), str(payload), str(result)])
    assert not result.exists(), "a worker rank wrote the result"
    monkeypatch.setenv("RANK", "0")
    launch.main([str(config), str(payload), str(result)])
    assert [s[0] for s in seen] == [cfg, cfg] and seen[0][1] == tmp_path / "home"
    assert json.loads(result.read_text()) == {
        "summary": "trained", "run_id": "r1", "version": "3", "promoted": True,
        "reason": "beats the champion", "metrics": {"test/pairwise_acc": 0.75},
    }  # fmt: skip


def _fake_torchrun(script: str):  # type: ignore[no-untyped-def]
    def command(devices: int, config: Path, settings: Path, result: Path) -> list[str]:
        return [sys.executable, "-c", script, str(config), str(result)]

    return command


def test_train_distributed_reads_rank_zeros_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands in for torchrun: checks it was handed the config, answers as rank 0 would.
    script = (
        "import json, sys; cfg = json.load(open(sys.argv[1])); "
        "json.dump({'summary': 's', 'run_id': 'r', 'version': '1', 'promoted': False, "
        "'reason': cfg['model'], 'metrics': {}}, open(sys.argv[2], 'w'))"
    )
    monkeypatch.setattr(launch, "torchrun_command", _fake_torchrun(script))
    out = launch.train_distributed(TrainConfig(model="seed-cnn", devices=2), get_settings())
    assert out["reason"] == "seed-cnn" and set(out) == set(launch.RESULT_KEYS)


def test_failed_distributed_run_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "torchrun_command", _fake_torchrun("raise SystemExit(3)"))
    with pytest.raises(PicmeError, match="on 2 devices failed \\(torchrun exited with 3\\)"):
        launch.train_distributed(TrainConfig(model="seed-cnn", devices=2), get_settings())
