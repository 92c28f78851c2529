"""Helpers the process-pool tests of test_table.py send to worker processes; kept in a
module of their own so a worker imports only this, not the whole test module."""

from __future__ import annotations

import os
from typing import Any


def crash_on_marked(paths: list[str]) -> list[dict[str, Any]]:
    """Stands in for a native decoder that kills its process on one file."""
    if any("CRASH" in p for p in paths):
        os._exit(3)
    return [{"path": p, "ok": True} for p in paths]
