"""Writing a generated WFDB tree atomically: the one rule the synthetic and DeepFake corpora share.

A tree is built under a hidden temporary name beside its destination (`.NAME.tmp-<pid>-*`),
in Challenge-style groups `g1/`, `g2/` ... of `RECORDS_PER_GROUP` records, each with a
`RECORDS` list; its manifest (what was asked for) is written last, then the folder is renamed
into place. So a tree either is complete with the manifest it was asked for, or is not
reused; a killed writer leaves only a hidden folder named with its PID, removed by the next
writer that finds its owner dead.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

RECORDS_PER_GROUP = 1000  # g1/, g2/, ... as in the Challenge 2021 tranches


def record_groups(n_records: int) -> list[str]:
    """The group folder of each of `n_records` records, in order."""
    return [f"g{i // RECORDS_PER_GROUP + 1}" for i in range(n_records)]


def tree_is_complete(out_dir: Path, manifest: str, expected: dict | None = None) -> bool:
    """True when `out_dir` holds a finished tree whose manifest file `manifest` equals `expected`
    (any finished tree when `expected` is None)."""
    path = Path(out_dir) / manifest
    if not path.is_file():
        return False
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return expected is None or found == expected


def remove_stale_tmp(out_dir: Path) -> None:
    """Remove `.NAME.tmp-<pid>-*` / `.NAME.old-<pid>-*` folders beside `out_dir` left by a
    writer that was killed: only those whose owner process is gone."""
    from ecgmask.data.cache import pid_alive

    out_dir = Path(out_dir)
    for kind in ("tmp", "old"):
        for path in out_dir.parent.glob(f".{out_dir.name}.{kind}-*-*"):
            owner = path.name[len(f".{out_dir.name}.{kind}-") :].split("-", 1)[0]
            if owner.isdigit() and path.is_dir() and not pid_alive(int(owner)):
                shutil.rmtree(path, ignore_errors=True)


def write_tree(
    out_dir,
    *,
    manifest: str,
    expected: dict,
    names: Sequence[str],
    groups: Sequence[str],
    fill: Callable[[Path], None],
) -> Path:
    """Make the tree `out_dir` whose manifest `manifest` is `expected`, unless it already exists.

    `names[i]` is record i's name and `groups[i]` its group folder (`record_groups`);
    `fill(tmp)` writes the records into `tmp/<group>/`. An existing tree with another
    manifest, or an incomplete one, is replaced.
    """
    out_dir = Path(out_dir)
    if tree_is_complete(out_dir, manifest, expected):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    try:
        for group in sorted(set(groups)):
            (tmp / group).mkdir()
            listed = [name for name, g in zip(names, groups) if g == group]
            (tmp / group / "RECORDS").write_text("\n".join(listed) + "\n")
        fill(tmp)
        (tmp / manifest).write_text(json.dumps(expected, indent=1) + "\n")
        if tree_is_complete(out_dir, manifest, expected):  # another process finished it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
            return out_dir
        if out_dir.exists():  # stale or different parameters: replace it
            trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-{os.getpid()}-", dir=out_dir.parent))
            os.replace(out_dir, trash / "tree")
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
