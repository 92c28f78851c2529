"""`picme --help` stays fast: no heavy library is imported to print it."""

from __future__ import annotations

import subprocess
import sys


def test_cli_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from picme.cli.app import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'lightning', 'mlflow', 'prefect') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"picme --help imported {out.stdout.strip()}"


def _commands() -> list[str]:
    import typer.main

    from picme.cli.app import app

    return sorted(typer.main.get_group(app).commands)


def test_help_names_value_types_without_python_tags() -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app

    runner = CliRunner()
    commands = _commands()
    assert {"train", "curate", "sql", "demo"} <= set(commands)
    for args in [["--help"], *[[c, "--help"] for c in commands]]:
        r = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert r.exit_code == 0, r.output
        for tag in ("<bool>", "<str>", "<int>", "<float>", "<path>", "<list"):
            assert tag not in r.output, f"picme {' '.join(args)} shows {tag}"
    train = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output
    assert "--epochs" in train and "INTEGER" in train and "TEXT" in train


def test_version() -> None:
    from typer.testing import CliRunner

    from picme import __version__
    from picme.cli.app import app

    r = CliRunner().invoke(app, ["--version"])
    assert (r.exit_code, r.stdout) == (0, f"picme {__version__}\n")


def test_quiet_and_verbose_together_are_refused() -> None:
    from typer.testing import CliRunner

    from picme.cli.app import app

    r = CliRunner().invoke(app, ["-q", "-v", "sql", "-c", "select 1"])
    assert r.exit_code == 2
    assert "-q or -v" in r.output
