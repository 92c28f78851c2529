"""The house rules that import-linter cannot see: no module imports another's private
names, modules stay small, every stage package says what it may import, and a
non-editable install finds its SQL files."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
STAGES = [
    "scrape",
    "lake",
    "features",
    "dataset",
    "models",
    "training",
    "registry",
    "scoring",
    "curate",
    "review",
    "synthetic",
    "cli",
    "util",
]


def _python_files(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py"))


def test_no_module_imports_a_private_name() -> None:
    offenders = []
    for path in _python_files("picme", "flows", "tests", "bench"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
                "picme",
                "flows",
            ):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offenders.append(f"{path.relative_to(ROOT)}: {node.module}.{alias.name}")
    assert offenders == []


def test_no_library_module_is_over_about_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _python_files("picme", "flows")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_package_documents_what_it_may_import(stage: str) -> None:
    init = ROOT / "picme" / stage / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text())) or ""
    assert "May import" in doc, f"{init}: say what the package does and may import"


@pytest.mark.slow
def test_a_built_wheel_carries_the_sql_files(tmp_path: Path) -> None:
    """A non-editable install reads the queries from inside the installed package."""
    wheels, site, src = tmp_path / "wheels", tmp_path / "site", tmp_path / "src"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # Build from a copy of the checkout's files: a build/ folder left in the checkout by an
    # earlier build would otherwise feed stale files into the wheel.
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout.split("\n")  # fmt: skip
    for rel in filter(None, listed):
        source = ROOT / rel
        if source.is_file() or source.is_symlink():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                (src / rel).symlink_to(os.readlink(source))
            else:
                shutil.copy2(source, src / rel)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(src)],
        check=True, env=env, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("picme-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        check=True, env=env, timeout=300,
    )  # fmt: skip
    code = (
        "import picme.dataset.sql as s; d = s.sql_dir(); "
        "print(d.resolve()); print(len(list(d.glob('*.sql')))); "
        "print(len(s.load_sql('labels')) > 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    folder, count, loaded = out.stdout.split()
    assert Path(folder).is_relative_to(site.resolve())
    assert int(count) == len(list((ROOT / "sql").glob("*.sql")))
    assert loaded == "True"
    templates = list(site.glob("picme/curate/templates/*"))
    assert templates or not (ROOT / "picme" / "curate" / "templates").exists()
