"""Patient-level splits of a cache's `records` table.

`split_indices(records, seed)`:
- a dataset with its own folds (a `fold` column known for every row, e.g. PTB-XL's
  `strat_fold`) is split by them and never by us: fold 10 is the test set, 9 validation,
  1-8 training (the PTB-XL recommendation); `seed` plays no part;
- otherwise the sorted unique patient ids are shuffled with `np.random.default_rng(seed)`; the
  first 10% (rounded, at least one patient when there are three or more) are the test set,
  the next 10% validation, the rest training.
Either way every window of a patient lands in the same split.

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
TEST_FOLD, VAL_FOLD = 10, 9
TRAIN_FOLDS = tuple(range(1, 9))


def _patients(records: pd.DataFrame) -> np.ndarray:
    return records["patient_id"].astype(str).to_numpy()


def _count(fraction: float, n: int) -> int:
    return int(math.floor(fraction * n + 0.5))


def _has_folds(records: pd.DataFrame) -> bool:
    """True when every row has a dataset fold; ValueError when only some have one."""
    if "fold" not in records.columns:
        return False
    known = records["fold"].notna()
    if known.all() and len(records):
        return True
    if known.any():
        raise ValueError(f"the fold column is known for {int(known.sum())} of {len(records)} rows: "
                         "a dataset with folds needs one for every record")  # fmt: skip
    return False


def _split_by_folds(records: pd.DataFrame) -> dict[str, np.ndarray]:
    folds = records["fold"].to_numpy(dtype=np.int64)
    unknown = sorted(set(np.unique(folds)) - {TEST_FOLD, VAL_FOLD, *TRAIN_FOLDS})
    if unknown:
        raise ValueError(f"folds must be 1-10 (10 test, 9 validation), found {', '.join(map(str, unknown))}")
    patient_of_row = _patients(records)
    per_patient = records.assign(_p=patient_of_row, _f=folds).groupby("_p")["_f"].nunique()
    split = per_patient[per_patient > 1]
    if len(split):
        raise ValueError(f"patient {split.index[0]} has records in {int(split.iloc[0])} folds: "
                         "the dataset's folds must keep each patient in one")  # fmt: skip
    groups = {"train": np.isin(folds, TRAIN_FOLDS), "val": folds == VAL_FOLD, "test": folds == TEST_FOLD}
    return {name: np.flatnonzero(mask).astype(np.int64) for name, mask in groups.items()}


def split_indices(records: pd.DataFrame, seed: int = 0) -> dict[str, np.ndarray]:
    """{'train', 'val', 'test'}: sorted row indices, by the dataset's folds when it has
    them, else 80/10/10 by patient with `seed`."""
    if _has_folds(records):
        return _split_by_folds(records)
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
