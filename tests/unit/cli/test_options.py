"""Options declared once on a stage's config show up on the command line with their help."""

from __future__ import annotations

import typer
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from picme.cli.options import config_options


class DemoConfig(BaseModel):
    top: int = Field(20, description="How many highlights to pick.")
    model: str | None = Field(None, description="Model URI or 'heuristic'.")
    register_model: bool = Field(
        True, description="Register it.", json_schema_extra={"cli": "--register"}
    )
    secret_knob: float = Field(0.5, description="Tests only.", json_schema_extra={"cli": False})


def _app() -> tuple[typer.Typer, list[DemoConfig]]:
    seen: list[DemoConfig] = []
    app = typer.Typer()

    @app.command()
    @config_options(DemoConfig)
    def run(name: str = typer.Argument(...), config: DemoConfig = None) -> None:  # type: ignore[assignment]
        seen.append(config)
        typer.echo(f"{name} {config.top}")

    @app.command()
    def other() -> None:
        pass

    return app, seen


def test_fields_become_options_and_come_back_as_the_config() -> None:
    app, seen = _app()
    out = CliRunner().invoke(app, ["run", "album", "--top", "3", "--no-register", "--model", "x"])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == "album 3"
    assert seen == [DemoConfig(top=3, model="x", register_model=False)]


def test_defaults_descriptions_and_hidden_fields() -> None:
    app, seen = _app()
    out = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert "How many highlights to pick." in out.output
    assert "--register" in out.output and "--no-register" in out.output
    assert "--secret-knob" not in out.output
    assert CliRunner().invoke(app, ["run", "a"]).exit_code == 0
    assert seen == [DemoConfig()]


def test_a_bad_value_is_one_usage_line() -> None:
    app, _ = _app()
    out = CliRunner().invoke(app, ["run", "a", "--top", "many"])
    assert out.exit_code == 2
    assert "Traceback" not in out.output
