"""Commands run in this process (typer's CliRunner) set up logging, warnings filters, import
hooks and library variables for the process, as `picme` does: each test gets them back."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _cli_process_state() -> Iterator[None]:
    environ = dict(os.environ)
    meta_path = list(sys.meta_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with warnings.catch_warnings():
        yield
    logging.captureWarnings(False)
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.meta_path[:] = meta_path
    os.environ.clear()
    os.environ.update(environ)
