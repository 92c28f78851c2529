"""Fault injection for subprocess runs of `picme`: count the renames a stage makes, or kill
it (SIGKILL, or SIGTERM for a clean shutdown) right before its Nth rename.

Run as ``python -m tests.faultinject AT SIGNAL COUNT_FILE -- picme args...``: AT is the
1-based rename to stop at (0: never), SIGNAL ``KILL`` or ``TERM``, COUNT_FILE where the
number of renames is written when the process exits normally.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from pathlib import Path
from typing import Any


def install(at: int, sig: signal.Signals, count_file: Path) -> None:
    import picme.util.generations as generations

    calls = [0]

    def hit() -> None:
        calls[0] += 1
        if calls[0] == at:
            os.kill(os.getpid(), sig)

    def wrap(fn: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            hit()
            return fn(*args, **kwargs)

        return wrapped

    os.replace = wrap(os.replace)
    os.rename = wrap(os.rename)
    generations.exchange = wrap(generations.exchange)
    atexit.register(lambda: count_file.write_text(str(calls[0])))


def main(argv: list[str]) -> None:
    at, sig, count_file, sep, *args = argv
    assert sep == "--"
    install(int(at), getattr(signal, f"SIG{sig}"), Path(count_file))
    from picme.cli.app import main as picme_main

    sys.argv = ["picme", *args]
    picme_main()


if __name__ == "__main__":
    main(sys.argv[1:])
