"""A sweep's name: one path component under --storage, of a safe alphabet.

The name becomes `<storage>/<name>`: a `/`, `..` or a leading `.` would put the sweep
outside its storage or hide it, a space or a shell character would break the commands the
driver prints. Checked before Ray starts.
"""

from __future__ import annotations

import re

from sweep.checks import BadArgument

ALPHABET = "letters, digits, '-', '_', '.', '+'"
_SAFE = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9._+\-]*")


def check_name(name: str) -> str:
    """`name` when it is one path component of the safe alphabet, not starting with '.'."""
    if not _SAFE.fullmatch(name or ""):
        raise BadArgument(f"--name {name!r}: a sweep's name is one folder name of {ALPHABET}, not starting with '.'")
    return name
