"""``picme sql``: ad hoc SQL over the lake's views (posts, media, image_features, profiles,
post_observations, training, pairs, exclusions).

The views are made in an in-memory DuckDB over the lake's Parquet files, as picme.duckdb
holds them, so a session never locks picme.duckdb against ``picme features`` and works as
soon as anything is ingested. The DuckDB Python package has no shell of its own: this is a
small one. ``-c QUERY`` runs one query; without it, statements are read from the prompt (or
stdin) until ``.quit`` or end of input, each ending with ``;``.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import typer

from picme.cli.common import user_errors

if TYPE_CHECKING:
    import duckdb
    from rich.console import Console

HELP = """Statements end with ';'. Commands: .tables (the views), .schema VIEW (its columns),
.help, .quit (or Ctrl-D)."""


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def sql(
        command: str = typer.Option(
            None, "--command", "-c", help="Run this query, print its result and exit."
        ),
        as_csv: bool = typer.Option(False, "--csv", help="Print rows as CSV (every row)."),
        as_json: bool = typer.Option(
            False, "--json", help="Print rows as a JSON array of objects (every row)."
        ),
        max_rows: int = typer.Option(
            40, "--max-rows", min=1, help="Rows shown in a table (CSV and JSON print all)."
        ),
    ) -> None:
        """Query the lake with SQL: the views posts, media, image_features, profiles,
        post_observations, training, pairs and exclusions (`picme sql -c "select ..."`)."""
        from picme.errors import InputError

        if as_csv and as_json:
            raise InputError("give --csv or --json, not both")
        fmt = "csv" if as_csv else "json" if as_json else "table"
        con = open_lake()
        try:
            if command is not None:
                run_statement(con, command, fmt, max_rows)
            else:
                raise typer.Exit(repl(con, fmt, max_rows))
        finally:
            con.close()


def open_lake() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per lake table; a clear error before any lake."""
    import duckdb

    from picme.dataset.outputs import view_statements
    from picme.errors import InputError
    from picme.settings import get_settings

    settings = get_settings()
    if settings.lake_uri:
        from picme.lake.store import FOLDERS, pull

        pull(settings, FOLDERS)  # an object-store lake: what is published, not a stale mirror
    statements = view_statements(settings)
    if not statements:
        raise InputError(
            f"no lake at {settings.lake_dir} yet: run `picme demo` (sample data) or "
            "`picme ingest` first (PICME_HOME picks another data folder)"
        )
    con = duckdb.connect()
    for stmt in statements:
        con.execute(stmt)
    return con


def run_statement(con: duckdb.DuckDBPyConnection, query: str, fmt: str, max_rows: int) -> None:
    """Run ``query`` and print its result; a DuckDB error is one InputError line."""
    import duckdb

    from picme.errors import InputError

    try:
        cursor = con.execute(query)
        columns = [d[0] for d in cursor.description] if cursor.description else None
        if columns is None:
            _console().print("ok", highlight=False)
            return
        if fmt == "table":
            rows = cursor.fetchmany(max_rows + 1)
            print_table(columns, rows[:max_rows], more=len(rows) > max_rows)
            return
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"SQL: {first} (`.tables` in `picme sql` lists the views)") from None
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        sys.stdout.write(json.dumps(records, default=_json_value, ensure_ascii=False) + "\n")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _printable(text: str) -> str:
    # Captions and names come from Instagram: a control character (a terminal escape) is
    # shown as its code, never sent to the terminal.
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


def _console() -> Console:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        # A pipe or a file: the table at its natural width, never wrapped at 80 columns.
        console = Console(width=100_000)
    return console


def print_table(columns: list[str], rows: list[tuple[Any, ...]], *, more: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(*[_printable(c) for c in columns], show_lines=False)
    for row in rows:
        table.add_row(
            *[Text("NULL", style="dim") if v is None else Text(_printable(str(v))) for v in row]
        )
    console = _console()
    console.print(table)
    count = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
    tail = " (more not shown: add LIMIT, --max-rows N, or --csv for all)" if more else ""
    console.print(count + tail, highlight=False, style="dim")


def repl(con: duckdb.DuckDBPyConnection, fmt: str, max_rows: int) -> int:
    """Statements from the prompt (or stdin) until ``.quit`` or end of input; the exit
    code: 0, or 2 when a statement failed and the input was not typed at a terminal."""
    interactive = sys.stdin.isatty()
    if interactive:
        import readline  # noqa: F401  # line editing and history for input()

        _console().print(f"PicMe lake: views {', '.join(_views(con))}. {HELP}", highlight=False)
    failed = False
    buffer: list[str] = []
    while True:
        try:
            line = input("picme> " if not buffer else "   ...> ") if interactive else _line()
        except EOFError:
            break
        except KeyboardInterrupt:
            buffer = []
            print()
            continue
        stripped = line.strip()
        if not buffer and stripped.startswith("."):
            if not _dot_command(con, stripped):
                break
            continue
        buffer.append(line)
        text = "\n".join(buffer).strip()
        if not text.endswith(";"):
            continue
        buffer = []
        failed = not _run(con, text, fmt, max_rows) or failed
    rest = "\n".join(buffer).strip()
    if rest:
        failed = not _run(con, rest, fmt, max_rows) or failed
    return 2 if failed and not interactive else 0


def _run(con: duckdb.DuckDBPyConnection, text: str, fmt: str, max_rows: int) -> bool:
    """One statement of a session: an error is printed and the session goes on."""
    from picme.errors import InputError

    try:
        run_statement(con, text, fmt, max_rows)
    except InputError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        return False
    return True


def _line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def _views(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1")
    return [r[0] for r in rows.fetchall()]


def _dot_command(con: duckdb.DuckDBPyConnection, text: str) -> bool:
    """Run a ``.command``; False to end the session."""
    name, _, arg = text.partition(" ")
    if name in (".quit", ".exit", ".q"):
        return False
    if name == ".tables":
        print_table(["view"], [(v,) for v in _views(con)], more=False)
    elif name == ".schema" and arg.strip():
        view = arg.strip().rstrip(";")
        if view not in _views(con):
            typer.secho(f"error: no view {view!r}; .tables lists them", fg="red", err=True)
            return True
        rows = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
            "ORDER BY column_index",
            [view],
        ).fetchall()
        print_table(["column", "type"], rows, more=False)
    else:
        _console().print(HELP, highlight=False)
    return True
