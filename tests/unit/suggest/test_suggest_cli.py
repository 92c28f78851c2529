"""``picme suggest`` end to end: a registered champion, the account's history, the table
and the JSON carrying the same facts; faults as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from picme.cli.app import app
from tests.unit.suggest.planted import candidate_photos, planted_table, register_champion

KEYS = {"path", "predicted", "interval", "best_hour", "best_weekday", "rank"}


@pytest.mark.slow
def test_suggest_recovers_the_planted_hour_in_table_and_json(
    picme_home: Path, tmp_path: Path
) -> None:
    planted_table(picme_home, best_hour=18)
    register_champion(picme_home)
    photos = [str(p) for p in candidate_photos(tmp_path / "c", n=2)]
    args = ["suggest", *photos, "--account", "me", "--caption", "Golden hour #sunset",
            "--hashtags", "travel"]  # fmt: skip
    out = CliRunner().invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    items = json.loads(out.stdout[out.stdout.index("[") :])
    assert [set(i) >= KEYS for i in items] == [True, True]
    assert sorted(i["rank"] for i in items) == [1, 2]
    for i in items:
        assert i["best_hour"] == 18 and i["hour_effect"]["supported"]
        assert i["best_weekday"] is None and i["best_weekday_note"] == "no measurable difference"
        lo, hi = i["interval"]
        assert 0 < lo < i["predicted"] < hi
        assert i["predicted_likes"] == pytest.approx(
            i["predicted"] * i["history"]["usual_likes"], rel=0.01
        )
        assert i["history"]["account"] == "me"
    first = next(i for i in items if i["rank"] == 1)
    assert first["predicted"] >= max(i["predicted"] for i in items)

    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())
    assert "18:00 (+" in text and "no measurable difference" in text
    assert "account history: @me: 80 posts" in text
    assert f"x{first['predicted']:.2f} usual" in text

    gone = CliRunner().invoke(app, ["suggest", str(tmp_path / "nothere.jpg")])
    assert gone.exit_code == 2 and "nothere.jpg does not exist" in gone.output


def test_without_a_ranker_champion_it_says_what_to_do(picme_home: Path, tmp_path: Path) -> None:
    photos = [str(p) for p in candidate_photos(tmp_path / "c", n=1)]
    out = CliRunner().invoke(app, ["suggest", *photos])
    assert out.exit_code == 2
    assert "needs a champion that is a tabular ranker" in out.output
    assert "Traceback" not in out.output
