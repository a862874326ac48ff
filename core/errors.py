"""Errors a user can cause and fix; the CLI reports them as one line (no traceback).

Everything else, a `ValueError` or a database error from a bug included, keeps its traceback
(interfaces/cli/main.py). Raise one of these where a user's input, setting or environment is at
fault.
"""


class OmniError(Exception):
    """Base class for expected, user-facing failures."""


class NotFound(OmniError):
    pass


class InvalidValue(OmniError, ValueError):
    """An argument, option or setting the user gave is not valid. Also a `ValueError`, so code
    that validates with `except ValueError` keeps working."""
