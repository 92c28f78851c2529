"""``picme features``: image features, then the training table; the options are declared by
:class:`picme.dataset.config.FeaturesConfig`."""

from __future__ import annotations

import typer

from picme.cli.common import user_errors
from picme.cli.options import config_options
from picme.cli.output import say
from picme.dataset.config import FeaturesConfig


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    @config_options(FeaturesConfig)
    def features(config: FeaturesConfig) -> None:
        """Compute image features, then build the training table, labels, pairs and splits."""
        from picme.cli.checks import need_lake
        from picme.settings import get_settings

        need_lake(get_settings())
        # OpenCV, Arrow and DuckDB load when the stage runs, not for `picme --help`.
        from picme.dataset.run import run_features

        run_features(config, on_summary=say)
