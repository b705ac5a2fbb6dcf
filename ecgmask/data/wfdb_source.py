"""`WfdbSource(roots)`: a pretraining corpus for `ecgmask.data.build_cache`, every WFDB/Challenge
record (`*.hea`) under the roots, searched recursively (`ecgmask.data.tree`), read by
`ecgmask.data.wfdb_reader`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ecgmask.data.labels import rhythm_from_snomed
from ecgmask.data.record import EcgRecord
from ecgmask.data.sources import WorkItem
from ecgmask.data.tree import file_stats, walk_tree
from ecgmask.data.wfdb_reader import patient_id_for, read_wfdb_record


def wfdb_items(roots, source_name=None) -> list:
    """Work items for every `*.hea` under `roots`, and one with `problem` set for every path
    the walk could not read. `source_name(root)` names the `source` column (default: the
    root folder's name)."""
    items = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"WFDB root {root} is not a directory")
        source = source_name(root) if source_name else (root.resolve().name or str(root))
        headers, problems = walk_tree(root, suffix=".hea")
        for path, _, _ in headers:
            name = Path(path).stem
            items.append(WorkItem(path=path, name=name, patient_id=patient_id_for(Path(path), name), source=source))
        for path, reason in problems:
            name = Path(path).stem
            items.append(WorkItem(path=path, name=name, patient_id=name, source=source, problem=reason))
    return items


@dataclass(frozen=True)
class WfdbSource:
    """A pretraining corpus: every WFDB/Challenge record under `roots` (searched recursively).

    Records keep unknown age, sex or Dx (`rhythm` is filled where the Dx names one class).
    `source` in the cache is the root folder's name. Implements `ecgmask.data.sources.Source`.
    """

    roots: tuple[Path, ...]
    kind: str = field(default="pretrain", init=False)

    def __post_init__(self):
        roots = (self.roots,) if isinstance(self.roots, (str, os.PathLike)) else self.roots
        object.__setattr__(self, "roots", tuple(Path(r) for r in roots))
        if not self.roots:
            raise ValueError("WfdbSource needs at least one root")

    def input_stats(self) -> list[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every file under the roots: what the cache key hashes."""
        return [s for root in self.roots for s in file_stats(root.resolve())]

    def describe(self) -> dict:
        roots = [str(r.resolve()) for r in self.roots]
        return {"type": "wfdb", "roots": roots, "where": ", ".join(roots)}

    def items(self) -> list:
        return wfdb_items(self.roots)

    def read(self, item) -> EcgRecord:
        rec = read_wfdb_record(item.path)
        return replace(rec, rhythm=rhythm_from_snomed(rec.dx)[0])
