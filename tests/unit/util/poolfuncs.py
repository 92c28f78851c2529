"""Module-level functions for the pool tests (workers import them by name)."""

from __future__ import annotations

import multiprocessing
import os
import time

CRASH = 1_000_003


def square_all(items: list[int]) -> list[int]:
    out = []
    for x in items:
        # Only ever in a worker: should the pool run this in the test process, the test
        # must fail, not take pytest down with it.
        if x == CRASH and multiprocessing.parent_process() is not None:
            os._exit(3)  # a native crash, as far as the pool can tell
        out.append(x * x)
    return out


def record_and_sleep(items: list[str]) -> list[None]:
    with open(items[0], "a") as fh:
        fh.write(f"{os.getpid()}\n")
    time.sleep(120)
    return [None]
