"""The SQL of the feature build: one query per file under ``sql/``, run by DuckDB.

Each file holds a single SELECT over named relations (the lake's tables, or the tables an
earlier query created), with ``$name`` parameters. DuckDB refuses parameters a statement
does not use, so :func:`run_query` passes each query only the ones it names.

Where the files live: ``sql/`` at the repository root (the issue asks for it there; a source
checkout or an editable install finds it beside the package). ``picme/_sql`` is a symbolic
link to it, so a wheel built with ``_sql/*.sql`` as package data carries the files inside
the package, where this module looks second; when neither exists the error names both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picme.errors import PicmeError

if TYPE_CHECKING:
    import duckdb

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# $name parameters; `--` comments are stripped first so prose there cannot add a parameter.
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")


def _candidate_dirs() -> list[Path]:
    import picme

    dirs = [Path(picme.__file__).resolve().parent.parent / "sql"]
    try:
        packaged = resources.files("picme") / "_sql"
        dirs.append(Path(str(packaged)))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - zipped installs
        pass
    return dirs


def sql_dir() -> Path:
    """The folder the queries are read from (the first candidate that holds .sql files)."""
    dirs = _candidate_dirs()
    for d in dirs:
        if d.is_dir() and any(d.glob("*.sql")):
            return d
    raise PicmeError(
        "the SQL files of the feature build are missing: looked in "
        + " and ".join(str(d) for d in dirs)
        + "; reinstall picme from a source checkout (pip install -e .)"
    )


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load_sql(name: str) -> str:
    """Text of ``sql/<name>.sql`` without a trailing semicolon, ready to wrap or execute."""
    if not _NAME.match(name):
        raise PicmeError(f"bad SQL query name {name!r}: use lowercase letters, digits and _")
    path = sql_dir() / f"{name}.sql"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in sql_dir().glob("*.sql")))
        raise PicmeError(f"no SQL query {name!r} ({path} is missing); known: {known}")
    return _read(path).strip().rstrip(";").strip()


def literal(text: str) -> str:
    """``text`` as a SQL string literal (a path in ``read_parquet(...)``, say)."""
    return "'" + text.replace("'", "''") + "'"


def query_params(sql: str) -> set[str]:
    """The ``$name`` parameters a query uses."""
    return set(_PARAM.findall(_COMMENT.sub("", sql)))


def bind(name: str, sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``params`` that ``sql`` uses; a missing one is a clear error."""
    wanted = query_params(sql)
    missing = sorted(wanted - params.keys())
    if missing:
        raise PicmeError(f"sql/{name}.sql needs parameter(s) {', '.join('$' + m for m in missing)}")
    return {k: params[k] for k in sorted(wanted)}


@contextmanager
def _failures(name: str) -> Iterator[None]:
    """A DuckDB error (out of memory, disk full, a bad input value) as one line naming the
    query; the original stays chained for logs."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PicmeError(f"feature build failed in sql/{name}.sql: {first}") from exc


def run_query(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Execute ``sql/<name>.sql``; fetch the result from the returned connection."""
    sql = load_sql(name)
    with _failures(name):
        return con.execute(sql, bind(name, sql, params or {}))


def create_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    name: str,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Materialise ``sql/<name>.sql`` as the temporary table ``table`` (replacing it)."""
    if not _NAME.match(table):
        raise PicmeError(f"bad table name {table!r}")
    sql = load_sql(name)
    with _failures(name):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}", bind(name, sql, params or {}))


def connect(
    threads: int | None = None, temp_directory: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB set up as every query here expects: UTC session time zone, so
    hour/weekday of a TIMESTAMPTZ are UTC whatever the machine's zone."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = {literal(str(temp_directory))}")
    return con
