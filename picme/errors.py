"""Errors that carry a message fit to show a user: what went wrong, where, what to do."""

from __future__ import annotations


class PicmeError(Exception):
    """An error whose message is shown to the user as one line, without a traceback."""


class InputError(PicmeError):
    """Bad input: a file, folder or field the user gave that PicMe cannot use."""
