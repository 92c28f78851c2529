"""`picme sql`: the lake's views from the command line, one clear line for every mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from picme.cli.app import app
from tests.buildfixtures import NOW, account_posts, lake_tables, post, write_lake


@pytest.fixture
def lake(picme_home: Path) -> Path:
    rows = account_posts("ana", 5) + account_posts("bo", 3)
    rows.append(post("evil-000", "eve", NOW, 10, caption="\x1b[31mred\x1b[0m and [bold]x[/]"))
    write_lake(picme_home / "lake", *lake_tables(rows))
    return picme_home


def sql(*args: str, stdin: str | None = None) -> object:
    return CliRunner().invoke(app, ["sql", *args], input=stdin)


def test_one_query_prints_a_table(lake: Path) -> None:
    r = sql("-c", "select owner_username, count(*) as n from posts group by 1 order by 2 desc")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    lines = r.stdout.splitlines()  # type: ignore[attr-defined]
    assert any("owner_username" in line and "n" in line for line in lines)
    assert any("ana" in line and "5" in line for line in lines)
    assert any("bo" in line and "3" in line for line in lines)
    assert lines[-1] == "3 rows"


def test_csv_and_json_print_every_row(lake: Path) -> None:
    q = "select shortcode, likes from posts where owner_username = 'bo' order by shortcode"
    r = sql("--csv", "--max-rows", "1", "-c", q)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert r.stdout.splitlines()[0] == "shortcode,likes"  # type: ignore[attr-defined]
    assert [line.split(",")[0] for line in r.stdout.splitlines()[1:]] == [  # type: ignore[attr-defined]
        "bo-000",
        "bo-001",
        "bo-002",
    ]
    r = sql("--json", "-c", "select shortcode, taken_at from posts order by shortcode limit 2")
    records = json.loads(r.stdout)  # type: ignore[attr-defined]
    assert [rec["shortcode"] for rec in records] == ["ana-000", "ana-001"]
    assert records[0]["taken_at"].startswith("20")


def test_a_long_result_is_cut_with_a_note(lake: Path) -> None:
    r = sql("--max-rows", "2", "-c", "select * from posts")
    assert r.exit_code == 0
    assert "2 rows (more not shown" in r.stdout  # type: ignore[attr-defined]


def test_wrong_sql_is_one_line(lake: Path) -> None:
    r = sql("-c", "select * from nowhere")
    assert r.exit_code == 2
    assert r.stdout == ""  # type: ignore[attr-defined]
    err = r.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(err) == 1 and err[0].startswith("error: SQL: Catalog Error")
    assert "nowhere" in err[0]


def test_before_any_lake_it_says_what_to_run(picme_home: Path) -> None:
    r = sql("-c", "select 1")
    assert r.exit_code == 2
    assert "no lake at" in r.stderr and "picme demo" in r.stderr  # type: ignore[attr-defined]


def test_scraped_text_cannot_send_terminal_escapes(lake: Path) -> None:
    r = sql("-c", "select caption from posts where owner_username = 'eve'")
    assert r.exit_code == 0
    assert "\x1b" not in r.stdout  # type: ignore[attr-defined]
    assert "\\x1b[31mred" in r.stdout and "[bold]x[/]" in r.stdout  # type: ignore[attr-defined]


def test_statements_from_stdin_until_quit(lake: Path) -> None:
    script = "select count(*) as n\n  from posts;\n.tables\n.quit\nselect 42 as never;\n"
    r = sql(stdin=script)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    out = r.stdout  # type: ignore[attr-defined]
    assert "│ 9 │" in out
    for view in ("posts", "media", "image_features"):
        assert view in out
    assert "never" not in out


def test_a_failed_statement_on_stdin_goes_on_and_exits_2(lake: Path) -> None:
    r = sql(stdin="select * from nope;\nselect 7 as seven")
    assert r.exit_code == 2
    assert "seven" in r.stdout  # type: ignore[attr-defined]
    assert "nope" in r.stderr  # type: ignore[attr-defined]
