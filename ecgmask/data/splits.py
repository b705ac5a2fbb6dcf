"""Patient-level splits of a cache's `records` table.

`split_indices(records, seed)`: the sorted unique patient ids are shuffled with
`np.random.default_rng(seed)`; the first 10% (rounded, at least one patient when there are
three or more) are the test set, the next 10% validation, the rest training. Every window of a
patient lands in the same split.

`fraction_indices(records, train_idx, fraction, seed)`: the training patients (sorted) are
shuffled once with `seed`; a fraction takes the first round(fraction * n) of them (at least
one). Fractions are therefore nested (1% within 10% within 100%) and never touch the test
set, which depends only on `split_indices`' seed.
"""

from __future__ import annotations

import math

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # workers import this package; keep pandas out of their start-up
    import pandas as pd

SPLIT_FRACTIONS = {"test": 0.1, "val": 0.1}


def _patients(records: pd.DataFrame) -> np.ndarray:
    return records["patient_id"].astype(str).to_numpy()


def _count(fraction: float, n: int) -> int:
    return int(math.floor(fraction * n + 0.5))


def split_indices(records: pd.DataFrame, seed: int = 0) -> dict[str, np.ndarray]:
    """{'train', 'val', 'test'}: sorted row indices, split 80/10/10 by patient."""
    patient_of_row = _patients(records)
    patients = np.unique(patient_of_row)
    n = len(patients)
    if n == 0:
        raise ValueError("cannot split an empty records table")
    order = np.random.default_rng(seed).permutation(n)
    shuffled = patients[order]
    n_test = _count(SPLIT_FRACTIONS["test"], n)
    n_val = _count(SPLIT_FRACTIONS["val"], n)
    if n >= 3:
        n_test, n_val = max(1, n_test), max(1, n_val)
    groups = {
        "test": shuffled[:n_test],
        "val": shuffled[n_test : n_test + n_val],
        "train": shuffled[n_test + n_val :],
    }
    return {
        name: np.flatnonzero(np.isin(patient_of_row, members)).astype(np.int64)
        for name, members in groups.items()
    }


def fraction_indices(
    records: pd.DataFrame, train_idx: np.ndarray, fraction: float, seed: int = 0
) -> np.ndarray:
    """Rows of the first `fraction` of one seeded shuffle of the training patients."""
    if not 0.0 < float(fraction) <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    train_idx = np.asarray(train_idx, dtype=np.int64)
    if len(train_idx) == 0:
        raise ValueError("no training rows to take a fraction of")
    patient_of_row = _patients(records)
    patients = np.unique(patient_of_row[train_idx])
    shuffled = patients[np.random.default_rng(seed).permutation(len(patients))]
    keep = shuffled[: max(1, _count(float(fraction), len(patients)))]
    return np.sort(train_idx[np.isin(patient_of_row[train_idx], keep)])
