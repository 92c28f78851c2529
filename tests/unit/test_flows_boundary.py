"""The library never imports Prefect: only flows/ (reached from `picme demo`, plugged into the
CLI through the ``picme.commands`` entry-point group) does."""

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
    # The walk found the package's modules, the cli among them.
    count = int(proc.stdout.split("MODULES")[1])
    assert count > 10


def test_demo_command_imports_flows_only_when_run() -> None:
    """The CLI loads the demo command's small plugin module, never a flow or Prefect,
    until `picme demo` runs."""
    code = (
        "import sys, picme.cli.app; "
        "print('demo' in [c.callback.__name__ for c in picme.cli.app.app.registered_commands]); "
        "print(sorted(m for m in sys.modules if m.startswith(('flows.', 'prefect'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "['flows.demo']"], out.stdout + out.stderr


def test_demo_is_registered_in_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    from picme.cli.app import PLUGIN_GROUP

    names = {e.name: e.value for e in entry_points(group=PLUGIN_GROUP)}
    assert names.get("demo") == "flows.demo:register"
