"""A command whose input is missing says so before it imports its stage's heavy libraries
(torch, Lightning, MLflow, Prefect, OpenCV): checked by the modules loaded, not by a clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ("torch", "lightning", "mlflow", "prefect", "cv2", "scipy", "sklearn", "pandas")

# Each command runs as `picme` runs it (picme.cli.errors.run), in one fresh interpreter.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from picme.cli import app, errors
    argv = sys.argv[1:]
    code = errors.run(lambda: app.app(argv, standalone_mode=False), argv)
    loaded = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(HEAVY)))
    print(json.dumps({"code": code, "loaded": loaded}))
    """
).replace("json.loads(HEAVY)", repr(list(HEAVY)))


def run(home: Path, *argv: str) -> tuple[dict[str, object], str]:
    env = {**os.environ, "PICME_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, env=env, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def test_train_without_a_training_table(tmp_path: Path) -> None:
    result, err = run(tmp_path / "home", "train")
    assert result == {"code": 2, "loaded": []}
    assert err.strip().endswith("no training table yet; run `picme features` first")
    assert len(err.strip().splitlines()) == 1


def test_curate_of_a_missing_album(tmp_path: Path) -> None:
    result, err = run(tmp_path / "home", "curate", str(tmp_path / "no-such-album"))
    assert result == {"code": 2, "loaded": []}
    assert err.strip() == (
        f"error: album folder {tmp_path / 'no-such-album'} does not exist; "
        "give the folder of your photos"
    )


def test_features_before_any_ingest(tmp_path: Path) -> None:
    result, err = run(tmp_path / "home", "features")
    assert result == {"code": 2, "loaded": []}
    assert "run `picme ingest` first" in err


def test_several_devices_with_the_auto_model_is_refused_before_any_training(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    training = home / "lake" / "training" / "training.parquet"
    training.parent.mkdir(parents=True)
    training.write_bytes(b"")  # only its presence is checked before the refusal
    result, err = run(home, "train", "--devices", "2")
    assert result["code"] == 2
    assert "trains one network with DDP: name it with --model" in err
    assert len(err.strip().splitlines()) == 1
