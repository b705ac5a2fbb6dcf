"""How an error is quoted in a one-line message: its first non-blank line."""

from __future__ import annotations


def first_line(err: BaseException) -> str:
    """The first non-blank line of `str(err)`, stripped; the exception's type name when it says nothing."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    return lines[0] if lines else type(err).__name__
