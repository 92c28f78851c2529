"""What `picme` prints, run as a user runs it (a subprocess, stderr not a terminal): one
clean line per event, Lightning's lines only with -v and never twice, nothing with -q."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.trainingdata import make_training_data


def picme(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PICME_HOME": str(home), "PICME_WORKERS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "picme.cli.app", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_quiet_prints_nothing_on_success(tmp_path: Path) -> None:
    home = tmp_path / "home"
    small = ["generate", "--accounts", "2", "--posts", "3", "--image-size", "64"]
    quiet = picme(home, "-q", *small)
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert any((home / "raw").rglob("*.jpg"))
    quiet = picme(home, "-q", "ingest")
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert (home / "lake" / "posts" / "posts.parquet").is_file()


# The CLI's output set-up around a real Lightning fit, at the default verbosity then at -v:
# one interpreter, so Lightning is imported once.
FIT = textwrap.dedent(
    """
    import sys
    from picme.cli import output
    from picme.util import progress

    for level in (output.NORMAL, output.VERBOSE):
        # As in `picme train`: logging is set up before Lightning is imported.
        undo = output.configure(level, terminal=False)
        progress.current().min_seconds = 0.0  # a line for the step however quick it was
        print(f"=== {level}", file=sys.stderr, flush=True)
        from picme.models.table import load_pairs_frame, load_training_frame
        from picme.settings import get_settings
        from picme.training.config import TrainConfig
        from picme.training.fit import fit

        settings = get_settings()
        frame, pairs = load_training_frame(settings), load_pairs_frame(settings)
        fit(TrainConfig(model="metadata", epochs=2, batch_size=16), settings, frame, pairs)
        undo()
    """
)


@pytest.mark.slow
def test_lightning_is_quiet_by_default_and_never_says_a_line_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_training_data(home, n_accounts=5, posts=8, image_size=32, splits=(3, 1, 1))
    env = {**os.environ, "PICME_HOME": str(home), "PICME_WORKERS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", FIT], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    default, verbose = out.stderr.split("=== 2\n")
    default = default.split("=== 1\n")[1]
    assert "litlogger" not in default and "GPU available" not in default
    assert "deprecated" not in default.lower()
    assert default.splitlines() == [default.splitlines()[0]]
    assert default.startswith("training metadata: epoch 2/2 train/loss ")
    assert " val/loss " in default and "2/2 done" in default
    # -v: Lightning's own lines, each once.
    assert verbose.count("GPU available") == 1 and verbose.count("Tip:") == 1
    assert "info lightning.pytorch.utilities.rank_zero: GPU available" in verbose
    lines = [line for line in verbose.splitlines() if "py.warnings" not in line]
    assert len(lines) == len(set(lines)), verbose
    assert lines[-1].startswith("training metadata: epoch 2/2 ")
