"""The training table's fingerprint: rows, accounts and a hash of its content, computed by
``sql/fingerprint.sql``.

The build reports it and records it in split.json; training logs it with the model, and
retraining compares the champion's with the table's now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from picme.dataset.outputs import output_paths
from picme.dataset.sql import connect, literal, run_query
from picme.errors import InputError, PicmeError
from picme.settings import Settings

if TYPE_CHECKING:
    import duckdb


def fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[int, int, str]:
    """rows, accounts and fingerprint of the table ``training`` in ``con``."""
    row = run_query(con, "fingerprint").fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), str(row[2])


def table_fingerprint(settings: Settings) -> dict[str, Any]:
    """rows, accounts and content fingerprint of lake/training/training.parquet, computed
    from the file itself (the same value build_training_table reported for it)."""
    import duckdb

    path = output_paths(settings)["training"]
    if not path.is_file():
        raise InputError(f"{path} does not exist: run `picme features` first")
    con = connect(threads=settings.n_workers())
    try:
        con.execute(
            f"CREATE TEMP VIEW training AS SELECT * FROM read_parquet({literal(str(path))})"
        )
        rows, accounts, digest = fingerprint(con)
    except (duckdb.Error, PicmeError) as exc:
        cause = exc.__cause__ if isinstance(exc, PicmeError) and exc.__cause__ else exc
        first = str(cause).strip().splitlines()[0]
        raise InputError(f"{path} cannot be read ({first}); run `picme features` again") from exc
    finally:
        con.close()
    return {"rows": rows, "accounts": accounts, "fingerprint": digest}
