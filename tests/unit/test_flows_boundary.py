"""The library never imports Prefect: only flows/ (reached from `picme demo`) does."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import importlib, pkgutil, sys
import picme
names = sorted(m.name for m in pkgutil.walk_packages(picme.__path__, "picme."))
for name in names:
    importlib.import_module(name)
    leaked = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
    if leaked:
        print(f"LEAK {name} {leaked[0]}")
        sys.exit(1)
print("MODULES", len(names))
"""


def test_no_picme_module_imports_prefect() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    # The walk found the package's modules, cli and commands.demo among them.
    count = int(proc.stdout.split("MODULES")[1])
    assert count > 10


def test_demo_command_imports_flows_only_when_run() -> None:
    code = (
        "import sys, picme.cli, picme.commands.demo; "
        "print(any(m == 'flows' or m.startswith('flows.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
