"""``picme generate``: a sample instaloader tree, its options declared by
:class:`picme.synthetic.config.GenerateConfig`."""

from __future__ import annotations

import typer

from picme.cli.common import user_errors
from picme.cli.options import config_options
from picme.cli.output import say
from picme.synthetic.config import GenerateConfig


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    @config_options(GenerateConfig)
    def generate(config: GenerateConfig) -> None:
        """Write a sample instaloader tree with a learnable image/engagement relation."""
        # Settings (pydantic-settings), numpy, OpenCV and instaloader load when a sample is
        # written, not for `picme --help`.
        from picme.settings import get_settings
        from picme.synthetic.instagram import generate_from_config

        summary = generate_from_config(config, get_settings().raw_dir)
        say(summary.summary())
