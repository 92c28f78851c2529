"""The training table's identity: rows, accounts and a hash of its content
(``sql/fingerprint.sql``), and one hash per row (``sql/row_hashes.sql``). Both cover every
column of every row and the image features' version, so a changed likes count, label,
feature value or feature formula changes them.

The build reports the fingerprint and records it in split.json; training logs it and the
row hashes with the model, and retraining compares the champion's with the table's now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from picme.dataset.outputs import output_paths
from picme.dataset.sql import connect, literal, run_query
from picme.errors import InputError, PicmeError
from picme.features.table import FEATURE_VERSION
from picme.lake.store import pull
from picme.settings import Settings

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

T = TypeVar("T")

#: The artifact, logged with every training run, that retraining compares row by row.
ROW_HASHES = "row_hashes.parquet"


def fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[int, int, str]:
    """rows, accounts and fingerprint of the table ``training`` in ``con``."""
    row = run_query(con, "fingerprint", {"feature_version": FEATURE_VERSION}).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), str(row[2])


def row_hashes(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """shortcode and content hash of every row of the table ``training`` in ``con``."""
    import pyarrow as pa

    rows = run_query(con, "row_hashes", {"feature_version": FEATURE_VERSION}).fetchall()
    return pa.table({"shortcode": [r[0] for r in rows], "h": [r[1] for r in rows]})


def table_row_hashes(settings: Settings) -> pa.Table:
    """:func:`row_hashes` of lake/training/training.parquet."""
    return _read(settings, row_hashes)


def table_fingerprint(settings: Settings) -> dict[str, Any]:
    """rows, accounts and content fingerprint of lake/training/training.parquet, computed
    from the file itself (the same value build_training_table reported for it)."""
    rows, accounts, digest = _read(settings, fingerprint)
    return {"rows": rows, "accounts": accounts, "fingerprint": digest}


def _read(settings: Settings, query: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    import duckdb

    # An object-store lake: the published training set, not whatever this worker's mirror
    # last saw (a scheduled retrain may run on a fresh worker).
    pull(settings, ("training",))
    path = output_paths(settings)["training"]
    if not path.is_file():
        raise InputError(f"{path} does not exist: run `picme features` first")
    con = connect(threads=settings.n_workers())
    try:
        con.execute(
            f"CREATE TEMP VIEW training AS SELECT * FROM read_parquet({literal(str(path))})"
        )
        return query(con)
    except (duckdb.Error, PicmeError) as exc:
        cause = exc.__cause__ if isinstance(exc, PicmeError) and exc.__cause__ else exc
        first = str(cause).strip().splitlines()[0]
        raise InputError(f"{path} cannot be read ({first}); run `picme features` again") from exc
    finally:
        con.close()
