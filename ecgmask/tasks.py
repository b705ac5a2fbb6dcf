"""The downstream tasks, in one registry: a new task is one entry of `TASKS`.

A task names the records column its label comes from (`EcgCache.records`), its classes, whether
a window may carry several of them at once (multi-label), and its headline metric (the result
key Table 1 shows for it). Everything that lists tasks (ProbeConfig, the transfer CLI, the
search spaces, `sweep/run.py --tasks`, the analysis) reads this registry.

Labels:
- single-label: the column holds one class name per window, or None when the window has no
  label for the task (a PTB-XL record outside the four rhythm classes);
- multi-label: the column holds a comma-separated subset of the classes. An empty string or
  None means no label: such windows are left out of the task, as in the PTB-XL benchmark
  (Strodthoff et al. 2020), which drops records without a label of the task's level.

Windows without a label are excluded from the task's train, val and test splits
(`labelled_rows`); `task_labels` refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Task:
    name: str
    column: str  # the EcgCache.records column holding the label
    classes: tuple[str, ...]
    multilabel: bool = False
    metric: str = "test_accuracy"  # headline result key (what Table 1 shows for the task)
    # one of the paper's Table 1 tasks: every grid space probes it unless --tasks says otherwise
    paper: bool = False
    description: str = ""

    @property
    def n_classes(self) -> int:
        return len(self.classes)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("arrhythmia", column="rhythm", classes=("AFIB", "GSVT", "SB", "SR"), paper=True,
             description="four merged rhythm classes (Chapman; PTB-XL rhythm statements)"),
        Task("sex", column="sex", classes=("F", "M"), paper=True, description="patient sex"),
        Task("superdiagnostic", column="superclass", classes=("NORM", "MI", "STTC", "CD", "HYP"),
             multilabel=True, metric="test_auc",
             description="PTB-XL diagnostic superclasses, multi-label (needs a PTB-XL cache)"),
    )
}

# the paper's tasks, in its order: what the grid spaces probe by default
PAPER_TASKS: tuple[str, ...] = tuple(name for name, task in TASKS.items() if task.paper)


def names() -> list[str]:
    return list(TASKS)


def get_task(name: str | Task) -> Task:
    """The registered task of that name (a Task is returned as is)."""
    if isinstance(name, Task):
        return name
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {names()} (ecgmask/tasks.py)") from None


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def labelled_rows(records: pd.DataFrame, task: str | Task) -> np.ndarray:
    """Boolean (N,): which rows carry a label for the task. All False when `records` has no
    such column (a cache from a source that does not label this task)."""
    task = get_task(task)
    if task.column not in records.columns:
        return np.zeros(len(records), dtype=bool)
    values = records[task.column]
    if task.multilabel:
        return np.array([not _is_missing(v) and str(v).strip() != "" for v in values], dtype=bool)
    return values.notna().to_numpy()


def task_labels(records: pd.DataFrame, task: str | Task) -> tuple[np.ndarray, list[str]]:
    """Labels of every row of `records` for the task, and its class names.

    Single-label: y int64 (N,), the index of the row's class. Multi-label: y float32 (N, C),
    multi-hot over the classes. Raises ValueError when a row has no label (select the rows
    with `labelled_rows` first) or names a class the task does not know.
    """
    task = get_task(task)
    classes = list(task.classes)
    if task.column not in records.columns:
        raise ValueError(f"no {task.column!r} column in the records, so no labels for task {task.name!r}")
    missing = int((~labelled_rows(records, task)).sum())
    if missing:
        raise ValueError(
            f"{missing} of {len(records)} rows have no {task.column} label for task {task.name!r} "
            "(is this a pretraining cache? downstream caches exclude unlabelled records)"
        )
    lookup = {c: i for i, c in enumerate(classes)}
    values = records[task.column]
    if not task.multilabel:
        y = values.map(lookup)
        unknown = sorted({str(v) for v in values[y.isna()]})
        if unknown:
            raise ValueError(f"task {task.name!r}: {task.column} value(s) {unknown} are not among {classes}")
        return y.to_numpy(dtype=np.int64), classes
    y = np.zeros((len(values), len(classes)), dtype=np.float32)
    unknown: set[str] = set()
    for i, text in enumerate(values):
        for name in (p.strip() for p in str(text).split(",")):
            if name in lookup:
                y[i, lookup[name]] = 1.0
            elif name:
                unknown.add(name)
    if unknown:
        raise ValueError(f"task {task.name!r}: {task.column} class(es) {sorted(unknown)} are not among {classes}")
    return y, classes
