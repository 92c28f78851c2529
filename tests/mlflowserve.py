"""``mlflow models serve`` as a subprocess for tests and bench/bench_serve.py: a tiny ranker
registered as the champion of a fresh tracking store, the server on 127.0.0.1 in its own
process group (killed as a group, pass or fail), and JSON requests with base64 photos."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from picme.settings import Settings
from tests.services import free_port


def register_champion(home: Path, *, n_accounts: int = 4, posts: int = 12) -> Settings:
    """A linear-pairwise ranker over tests/trainingdata.py's table, logged through the
    training's own ranker path and given the alias ``champion``; returns its settings."""
    import tempfile

    import mlflow

    from picme.registry.tracking import client, ensure_experiment, use_tracking
    from picme.settings import get_settings
    from picme.training import tabular
    from tests.trainingdata import make_training_data, seed_tracking_store

    seed_tracking_store(home)
    settings = get_settings(home=home)
    data = make_training_data(
        home, n_accounts=n_accounts, posts=posts, image_size=48, splits=(n_accounts - 2, 1, 1)
    )
    fitted = tabular.fit_tabular("linear-pairwise", data.frame, data.pairs, seed=0)
    use_tracking(settings)
    with (
        tempfile.TemporaryDirectory() as work,
        mlflow.start_run(experiment_id=ensure_experiment(settings)),
    ):
        version = tabular.log_model(fitted, settings, Path(work), register=True)
    assert version is not None
    client(settings).set_registered_model_alias(settings.model_name, "champion", version)
    return settings


@contextmanager
def served(settings: Settings, log: Path, timeout: float = 180.0) -> Iterator[str]:
    """``mlflow models serve -m models:/<model>@champion`` until the block ends; yields its
    base URL once /ping answers."""
    port = free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=settings.tracking_uri)
    cmd = [
        sys.executable, "-m", "mlflow", "models", "serve",
        "-m", f"models:/{settings.model_name}@champion",
        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for_ping(url, proc, log, timeout)
            yield url
        finally:
            _stop(proc)


def _wait_for_ping(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow models serve exited ({proc.returncode}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"mlflow models serve gave no /ping in {timeout:.0f} s:\n{_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    # The group's other processes (uvicorn's worker) go with it even if the leader is gone.
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _tail(log: Path) -> str:
    return log.read_bytes()[-3000:].decode("utf-8", "replace")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def invoke(url: str, body: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    """POST ``body`` to /invocations; the parsed answer (HTTP errors raise with the body)."""
    req = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return dict(json.loads(r.read()))
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"HTTP {exc.code}: {exc.read()[:2000]!r}") from None
