"""Errors the CLI reports as one line (no traceback)."""


class OmniError(Exception):
    """Base class for expected, user-facing failures."""


class NotFound(OmniError):
    pass
