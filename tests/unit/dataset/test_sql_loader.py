"""picme.dataset.sql: finding, reading and parameterising the build's queries."""

from __future__ import annotations

import pytest

from picme.dataset import sql
from picme.errors import PicmeError

EXPECTED = {
    "checks",
    "labels",
    "metadata",
    "photo_links",
    "split_time",
    "near_duplicates",
    "training",
    "pairs",
    "exclusions",
    "fingerprint",
}


def test_every_query_loads_and_is_one_statement() -> None:
    names = {p.stem for p in sql.sql_dir().glob("*.sql")}
    assert names >= EXPECTED
    for name in names:
        text = sql.load_sql(name)
        assert not text.endswith(";")
        # One query a file: no statement separator once comments are stripped.
        assert ";" not in sql._COMMENT.sub("", text), name


def test_sql_dir_is_repository_sql_folder() -> None:
    import picme

    assert sql.sql_dir() == (sql.Path(picme.__file__).resolve().parent.parent / "sql")


def test_unknown_and_unsafe_names_are_clear_errors() -> None:
    with pytest.raises(PicmeError, match="no SQL query 'nope'"):
        sql.load_sql("nope")
    with pytest.raises(PicmeError, match="bad SQL query name"):
        sql.load_sql("../pyproject")


def test_params_ignore_comments_and_missing_ones_are_named() -> None:
    text = "-- uses $not_this\nSELECT $a + $b AS x -- nor $that"
    assert sql.query_params(text) == {"a", "b"}
    assert sql.bind("q", text, {"a": 1, "b": 2, "extra": 3}) == {"a": 1, "b": 2}
    with pytest.raises(PicmeError, match=r"sql/q.sql needs parameter\(s\) \$b"):
        sql.bind("q", text, {"a": 1})


def test_run_query_passes_only_used_params() -> None:
    con = sql.connect(threads=1)
    con.execute(
        "CREATE TABLE training AS SELECT 'x' AS shortcode, 'acc' AS owner_username, "
        "'s' AS sha256, 1 AS likes, 2 AS followers, 0 AS label, 1 AS label_rel, "
        "'train' AS split"
    )
    # fingerprint.sql takes only $feature_version; DuckDB would refuse the extra ones.
    params = {"threshold": 0.3, "seed": 1, "feature_version": 1}
    row = sql.run_query(con, "fingerprint", params).fetchone()
    assert row is not None and row[0] == 1 and row[1] == 1 and len(row[2]) == 64


def test_missing_sql_folder_names_where_it_looked(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setattr(sql, "_candidate_dirs", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(PicmeError, match="SQL files of the feature build are missing"):
        sql.sql_dir()


def test_connection_reports_utc_hours() -> None:
    con = sql.connect(threads=1)
    assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)


def test_a_failing_query_is_one_line_naming_the_file() -> None:
    con = sql.connect(threads=1)
    # No `training` table: DuckDB's catalog error becomes a PicmeError naming the query.
    with pytest.raises(PicmeError, match=r"^feature build failed in sql/fingerprint.sql: "):
        sql.create_table(con, "fp", "fingerprint", {"feature_version": 1})


def test_packaged_copy_is_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import picme

    packaged = sql.Path(picme.__file__).parent / "_sql"
    assert sorted(p.name for p in packaged.glob("*.sql")) == sorted(
        p.name for p in sql.sql_dir().glob("*.sql")
    )
    monkeypatch.setattr(sql, "_candidate_dirs", lambda: [tmp_path / "gone", packaged])
    assert sql.sql_dir() == packaged
