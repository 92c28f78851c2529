"""The `picme` command. Heavy libraries (torch, lightning, mlflow, prefect) are imported
inside the commands that need them, so `picme --help` stays fast.

Commands that live outside the library (``picme demo`` starts the Prefect pipeline from
flows/) are plugged in through the ``picme.commands`` entry-point group: the library never
imports flows, and the one edge is declared in pyproject.toml."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points

import typer

from picme.cli import curate, features, generate, ingest, scrape, train

PLUGIN_GROUP = "picme.commands"

app = typer.Typer(
    name="picme",
    help="PicMe: learn what makes a photo do well on Instagram, then curate an album.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for _module in (scrape, ingest, generate, features, train, curate):
    _module.register(app)

for _entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
    _entry.load()(app)


def main() -> None:
    """Entry point that turns PicmeError into a one-line message and exit code 2."""
    from picme.errors import PicmeError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(standalone_mode=True)
    except PicmeError as exc:  # pragma: no cover - exercised through the CLI tests
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
