"""CurateConfig is the one declaration of the curate options: the CLI shows it with
today's names, defaults and help, and both the command and curate_album hand it to curate."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import picme.curate.run
from picme.cli.app import app
from picme.curate.config import CurateConfig


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, CurateConfig]]:
    calls: list[tuple[Path, CurateConfig]] = []

    class Done:
        def summary(self) -> str:
            return "curated"

    def fake(album: Path, config: CurateConfig, settings=None, *, progress=None):  # type: ignore[no-untyped-def]
        calls.append((album, config))
        return Done()

    monkeypatch.setattr(picme.curate.run, "curate", fake)
    return calls


def test_help_lists_the_options_with_their_defaults() -> None:
    out = CliRunner().invoke(app, ["curate", "--help"], env={"COLUMNS": "200"}).output
    for flag, text in [
        ("--top", "How many highlights to pick. [default: 20]"),
        ("--model", "Model URI or 'heuristic' (default: champion if any)."),
        ("--out", "Output folder (default: ALBUM-picme beside it; never inside it)."),
        ("--workers", "Processes (0: one per core). [default: 0]"),
    ]:
        line = next(ln for ln in out.splitlines() if f" {flag} " in ln)
        assert text in line, line


def test_the_command_hands_curate_one_config(
    seen: list[tuple[Path, CurateConfig]], tmp_path: Path, picme_home: Path
) -> None:
    args = ["curate", str(tmp_path), "--top", "3", "--model", "heuristic", "--out", "o"]
    res = CliRunner().invoke(app, [*args, "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "curated"
    assert seen == [(tmp_path, CurateConfig(top=3, model="heuristic", out=Path("o"), workers=1))]
    assert CliRunner().invoke(app, ["curate", str(tmp_path)]).exit_code == 0
    assert seen[-1] == (tmp_path, CurateConfig())


def test_curate_album_keywords_make_the_same_config(
    seen: list[tuple[Path, CurateConfig]], tmp_path: Path
) -> None:
    picme.curate.run.curate_album(tmp_path, top=5, out=tmp_path / "o", workers=2)
    assert seen == [(tmp_path, CurateConfig(top=5, out=tmp_path / "o", workers=2))]


def test_an_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError, match="extra"):
        CurateConfig(tpo=3)  # type: ignore[call-arg]
