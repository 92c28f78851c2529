"""The `picme` command. Heavy libraries (torch, lightning, mlflow, prefect) are imported
inside the commands that need them, so `picme --help` stays fast.

Commands that live outside the library (``picme demo`` starts the Prefect pipeline from
flows/) are plugged in through the ``picme.commands`` entry-point group: the library never
imports flows, and the one edge is declared in pyproject.toml."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import typer

from picme import __version__
from picme.cli import (
    curate,
    errors,
    features,
    generate,
    ingest,
    options,
    output,
    review,
    scrape,
    sql,
    suggest,
    train,
)

PLUGIN_GROUP = "picme.commands"

app = typer.Typer(
    name="picme",
    help="PicMe: learn what makes a photo do well on Instagram, then curate an album.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=options.PlainTypesGroup,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"picme {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an error (or PICME_DEBUG=1)."
    ),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        show_default=False,
        help="Also show other libraries' messages and warnings (-vv: debug).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print errors only."),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_show_version, help="Print the version."
    ),
) -> None:
    """PicMe: learn what makes a photo do well on Instagram, then curate an album."""
    if quiet and verbose:
        raise typer.BadParameter("give -q or -v, not both")
    level = output.QUIET if quiet else min(output.NORMAL + verbose, output.DEBUG)
    ctx.call_on_close(output.configure(level))


for _module in (scrape, ingest, generate, features, train, curate, review, suggest, sql):
    _module.register(app)

for _entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
    _entry.load()(app)


def main() -> None:
    """Entry point: every fault is one line (see picme.cli.errors), exit 2; Ctrl-C 130,
    SIGTERM 143."""
    sys.exit(errors.run(lambda: app(standalone_mode=False)))


if __name__ == "__main__":
    main()
