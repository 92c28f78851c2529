"""The ``picme`` command (``picme.cli.app:main``): one module per sub-command, each with
``register(app)``.

Command modules import only typer and the standard library at the top; the library is
imported inside the command body, so ``picme --help`` stays fast.

May import: every ``picme`` package. Never ``flows`` or prefect: commands that start a flow
(``picme demo``) are plugged in through the ``picme.commands`` entry-point group (see
``picme.cli.app``).
"""
