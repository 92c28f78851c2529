"""Command-line options from a stage's typed configuration.

A stage declares its options once, as a pydantic model (or pydantic dataclass) whose fields
carry a default and a description. :func:`config_options` turns those fields into typer
options, so the CLI, the Prefect flows (which take the same model as a parameter, and show
the descriptions in the UI) and the library read the same declaration.

Per field, ``json_schema_extra`` may hold ``{"cli": "--flag"}`` (the option's name, or
``"--on/--off"`` for a boolean) or ``{"cli": False}`` (not on the command line). Without it a
field ``batch_size`` is ``--batch-size``, and a boolean ``register`` is
``--register/--no-register``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def cli_fields(config_cls: type) -> dict[str, Any]:
    """The pydantic fields of ``config_cls`` that appear on the command line, in order."""
    fields: dict[str, Any] = config_cls.__pydantic_fields__  # type: ignore[attr-defined]
    out = {}
    for name, info in fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("cli") is False:
            continue
        out[name] = info
    return out


def _declarations(name: str, info: Any) -> list[str]:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    flag = extra.get("cli") or "--" + name.replace("_", "-")
    if info.annotation is bool and "/" not in flag:
        return [f"{flag}/--no-{flag.removeprefix('--')}"]
    return [str(flag)]


def config_options(config_cls: type, *, param: str = "config") -> Callable[[F], F]:
    """Decorate a command whose parameter ``param`` is a ``config_cls``: the command gets
    one option per field instead, and receives the validated configuration."""

    def decorate(func: F) -> F:
        signature = inspect.signature(func)
        kept = [p for p in signature.parameters.values() if p.name != param]
        taken = {p.name for p in kept}
        fields = cli_fields(config_cls)
        clash = taken & set(fields)
        if clash:
            raise TypeError(f"{func.__name__}: parameters {sorted(clash)} are config fields")
        options = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(
                    info.get_default(call_default_factory=True),
                    *_declarations(name, info),
                    help=info.description,
                ),
                annotation=info.annotation,
            )
            for name, info in fields.items()
        ]

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in fields if name in kwargs}
            return func(*args, **{param: config_cls(**values)}, **kwargs)

        command.__signature__ = signature.replace(parameters=kept + options)  # type: ignore[attr-defined]
        return command  # type: ignore[return-value]

    return decorate


# How a value is named in --help: click's words instead of typer's Python type tags.
_TYPE_WORDS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "path": "PATH", "bool": ""}


def _type_word(param: Any, ctx: Any) -> str | None:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    label = str(param.display_type(ctx)).removeprefix("<").removesuffix(">")
    inner = label.removeprefix("list[").removesuffix("]")
    word = _TYPE_WORDS.get(inner.lower(), inner.upper() if inner.isidentifier() else inner)
    return word or None


def plain_types(command: Any, ctx: Any) -> None:
    """Show a command's value types as TEXT, INTEGER, PATH (and nothing for flags) instead
    of typer's ``<str>``, ``<int>``, ``<bool>``. typer renders ``display_type_rich``; it is
    replaced per parameter, the help option included, so that plug-in commands get it too."""
    params = list(getattr(command, "params", []))
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if hasattr(param, "display_type") and not hasattr(param, "_picme_plain"):
            word = _type_word(param, ctx)
            param.display_type_rich = lambda ctx, _w=word: _w
            param._picme_plain = True


class PlainTypesGroup(typer.core.TyperGroup):
    """The ``picme`` group: its own help and every sub-command's use :func:`plain_types`."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            plain_types(command, ctx)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        plain_types(self, ctx)
        super().format_help(ctx, formatter)
