"""Walking a folder tree of records: every file (or every `*.hea`) under a root, with the
paths that could not be read listed rather than fatal. What a source lists, and what its
cache key hashes (`file_stats`).
"""

from __future__ import annotations

import os
from pathlib import Path


def walk_tree(
    root: str | os.PathLike, suffix: str | None = None
) -> tuple[list[tuple[str, int, int]], list[tuple[str, str]]]:
    """(files, problems) under `root`, recursively, hidden entries skipped.

    files: (path, size, mtime_ns) of every regular file (ending in `suffix`, if given), sorted
    by path. problems: (path, reason) of every folder, and every file ending in `suffix`, that
    could not be read (permissions, a broken link, a link into a loop of links): one bad path
    is listed, never the end of the walk. Links are followed, but a folder already walked (a
    link back up the tree, or a second link to one folder) is not walked again.
    """
    files: list[tuple[str, int, int]] = []
    problems: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()

    def wanted(name: str) -> bool:
        return suffix is None or name.endswith(suffix)

    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                continue  # reached again through a link: walked once already
            seen.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            problems.append((folder, f"unreadable folder: {err.strerror or err}"))
            continue
        subfolders = []
        for e in entries:
            if e.name.startswith("."):
                continue
            try:
                if e.is_dir(follow_symlinks=True):
                    subfolders.append(e.path)
                elif wanted(e.name):
                    if e.is_file(follow_symlinks=True):
                        st = e.stat(follow_symlinks=True)
                        files.append((e.path, st.st_size, st.st_mtime_ns))
                    elif e.is_symlink():
                        problems.append((e.path, f"unreadable file: broken link to {os.readlink(e.path)}"))
            except OSError as err:  # a link loop (ELOOP), a vanished entry, no permission
                if wanted(e.name) or e.is_symlink():
                    problems.append((e.path, f"unreadable path: {err.strerror or err}"))
        stack.extend(reversed(subfolders))
    return sorted(files), sorted(problems)


def file_stats(root: str | os.PathLike) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every regular file under `root` (see `walk_tree`)."""
    return walk_tree(root)[0]


def list_wfdb_headers(root: str | os.PathLike) -> list[Path]:
    """Every `*.hea` under `root` (recursively, hidden entries skipped), sorted."""
    return [Path(p) for p, _, _ in walk_tree(root, suffix=".hea")[0]]
