"""Fault injection: each stage run in a subprocess and killed (SIGKILL, or SIGTERM) right
before each of its renames and at a random moment, then run again. The outputs equal a
clean run's, no temp file, partial folder or process of the killed run remains, and the
album is byte-identical. A full disk injected mid-run leaves the previous outputs intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Leftovers a dead writer could leave: temp files, staging and old generations, chunks.
LEFTOVER_MARKS = (".tmp", ".partial-", ".old-", "/.parts/part-")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICME_")}
    env.update(PICME_HOME=str(home), PICME_WORKERS="2", PYTHONPATH=str(ROOT))
    return env


def _run(
    home: Path, args: list[str], at: int = 0, sig: str = "KILL", after: float | None = None
) -> tuple[int, int, int]:
    """(exit code, renames counted, session id) of one run, killed at rename ``at``, or
    (``after`` seconds) at a moment that has nothing to do with its renames. Only the main
    process is signalled: its workers must go by themselves."""
    count = home.parent / f"renames-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.faultinject", str(at), sig, str(count), "--", *args],
        cwd=ROOT,
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if after is not None:
        try:
            proc.wait(timeout=after)
        except subprocess.TimeoutExpired:
            proc.send_signal(getattr(signal, f"SIG{sig}"))
    _, stderr = proc.communicate(timeout=300)
    proc.stderr = stderr  # type: ignore[assignment]
    n = int(count.read_text()) if count.exists() else -1
    if at == 0 and after is None:
        assert proc.returncode == 0, proc.stderr[-3000:]
    elif sig == "TERM" and proc.returncode == 143:
        # SIGTERM: one line, after the stage cleaned up; no worker's traceback after it.
        assert proc.stderr.strip().splitlines()[-1].startswith("error: terminated"), proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, n, proc.pid


def _session_processes(sid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the name: state, ppid, pgrp, session.
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _no_process_left(sid: int) -> None:
    deadline = time.monotonic() + 20
    left = _session_processes(sid)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _session_processes(sid)
    assert left == [], f"processes of the killed run still running: {left}"


def _leftovers(*roots: Path) -> list[str]:
    out = []
    for root in roots:
        for p in root.rglob("*"):
            text = p.as_posix()
            if any(m in text for m in LEFTOVER_MARKS):
                out.append(text)
    return out


def _table(path: Path, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    t = pq.read_table(path)
    rows = t.drop_columns([c for c in drop if c in t.column_names]).to_pylist()
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with generated raw data (small: the point is the faults, not the data)."""
    home = tmp_path_factory.mktemp("base") / "home"
    _run(home, ["generate", "--accounts", "4", "--posts", "16", "--image-size", "96"])
    return home


def _stage_outputs(stage: str, home: Path, out: Path) -> Any:
    """The stage's outputs, with this run's own folders written as HOME and OUT."""
    text = json.dumps(_raw_outputs(stage, home, out), sort_keys=True, default=str)
    return json.loads(text.replace(str(home), "HOME").replace(str(out), "OUT"))


def _raw_outputs(stage: str, home: Path, out: Path) -> Any:
    lake = home / "lake"
    if stage == "ingest":
        return {
            n: _table(lake / n / f"{n}.parquet", drop=("ingested_at",))
            for n in ("posts", "media", "profiles")
        }
    if stage == "features":
        return {
            "features": _table(
                lake / "image_features" / "image_features.parquet", drop=("computed_at",)
            ),
            "training": _table(lake / "training" / "training.parquet"),
            "pairs": _table(lake / "training" / "pairs.parquet"),
        }
    doc = json.loads((out / "curation.json").read_text())
    return {"curation": doc, "files": sorted(_digest(out))}


STAGES: dict[str, Callable[[Path, Path, Path], list[str]]] = {
    "ingest": lambda home, album, out: ["ingest"],
    "features": lambda home, album, out: ["features"],
    "curate": lambda home, album, out: [
        "curate",
        str(album),
        "--model",
        "heuristic",
        "--out",
        str(out),
        "--top",
        "5",
    ],  # fmt: skip
}


def _prepared(base: Path, stage: str, where: Path) -> Path:
    home = where / "home"
    shutil.copytree(base, home, symlinks=True)
    if stage in ("features", "curate"):
        _run(home, ["ingest"])
    return home


@pytest.mark.parametrize("stage", list(STAGES))
def test_killed_at_every_rename_and_at_random_then_rerun_equals_a_clean_run(
    stage: str, base: Path, tmp_path: Path
) -> None:
    album = base / "raw"  # the generated photos are the album curate reads
    before_album = _digest(album)
    clean_home = _prepared(base, stage, tmp_path / "clean")
    clean_out = tmp_path / "clean" / "out"
    started = time.monotonic()
    _, renames, _ = _run(clean_home, STAGES[stage](clean_home, album, clean_out))
    seconds = time.monotonic() - started
    assert renames > 0
    expected = _stage_outputs(stage, clean_home, clean_out)

    rng = random.Random(f"{stage}-faults")
    plan: list[tuple[int, str, float | None]] = [(k, "KILL", None) for k in range(1, renames + 1)]
    plan += [(rng.randint(1, renames), "TERM", None)]
    # And at random moments: Python start-up takes about a second of the run.
    plan += [(0, sig, rng.uniform(0.5, seconds)) for sig in ("KILL", "TERM")]
    for i, (at, sig, after) in enumerate(plan):
        where = tmp_path / f"run{i}"
        home, out = _prepared(base, stage, where), where / "out"
        args = STAGES[stage](home, album, out)
        code, _, sid = _run(home, args, at=at, sig=sig, after=after)
        # A timed SIGTERM can land before Python has started picme (default action: -15).
        allowed = (-9, 143, 0) if after is None else (-9, -15, 143, 0)
        assert code in allowed, (at, sig, code)
        _no_process_left(sid)
        _run(home, args)  # the next run sweeps, resumes and completes
        assert _stage_outputs(stage, home, out) == expected, (stage, at, sig)
        assert _leftovers(home, where) == [], (stage, at, sig)
    assert _digest(album) == before_album


def test_a_full_disk_mid_build_keeps_the_previous_training_set(base: Path, tmp_path: Path) -> None:
    """ENOSPC injected while the training set is written: one line, exit 2, and the
    previous generation untouched."""
    home = _prepared(base, "features", tmp_path)
    _run(home, ["features"])
    training = home / "lake" / "training"
    before = _digest(training)
    code = (
        "import errno, sys; import pyarrow.parquet as pq\n"
        "from picme.dataset import outputs\n"
        "def full(*a, **k): raise OSError(errno.ENOSPC, 'No space left on device', 'x')\n"
        "outputs.json.dumps = full\n"
        "sys.argv = ['picme', 'features']\n"
        "from picme.cli.app import main; main()\n"
    )
    env = _env(home)
    env["PICME_SETTLE_DAYS"] = "2.5"  # a different table, so the build must write again
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: no space left on the device")
    assert "Traceback" not in proc.stderr
    assert _digest(training) == before
    assert _leftovers(home) == []


def _start(home: Path, args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "picme.cli.app", *args],
        cwd=ROOT,
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_ingests_at_once_one_refuses_in_one_line(base: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(base, home, symlinks=True)
    procs = [_start(home, ["ingest"]) for _ in range(2)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    if codes == [0, 0]:
        return  # the first finished before the second started: nothing to refuse
    assert codes == [0, 2], results
    (err,) = [e for code, e in results if code == 2]
    assert err.strip().splitlines()[-1].startswith("error: ") and "another `picme ingest`" in err
    assert "Traceback" not in err


def test_two_feature_builds_at_once_share_the_work(base: Path, tmp_path: Path) -> None:
    home = _prepared(base, "features", tmp_path)
    procs = [_start(home, ["features"]) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    # One computed the images; the other waited for it and found them done.
    computed = sorted(
        int(line.split(" computed")[0].rsplit(", ", 1)[1])
        for out, _ in outs
        for line in out.splitlines()
        if line.startswith("image features:")
    )
    assert computed[0] == 0 and computed[1] > 0, outs
    assert _leftovers(home) == []


def test_curate_refuses_a_user_folder_that_happens_to_hold_a_curation_json(
    base: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "Documents"
    docs.mkdir()
    (docs / "curation.json").write_text('{"mine": true}')
    (docs / "thesis.docx").write_bytes(b"years of work")
    proc = _start(
        tmp_path, ["curate", str(base / "raw"), "--model", "heuristic", "--out", str(docs)]
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2
    assert "already holds other files" in err and "Traceback" not in err
    assert (docs / "thesis.docx").read_bytes() == b"years of work"
    assert sorted(p.name for p in docs.iterdir()) == ["curation.json", "thesis.docx"]
