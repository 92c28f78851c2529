"""One module per `picme` sub-command; each exposes ``register(app)``.

Modules here import only typer and the standard library at the top; the work is done
by the library modules they import inside the command body.
"""
