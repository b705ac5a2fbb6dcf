"""The mask statistics of a sweep's adversarial pretraining trials, read from Tune's results.

Every adversarial pretraining epoch reports, per mask k, `mask_{k}_raw` (mean of m_k),
`mask_{k}_time` (masked-time share after binarisation), `mask_{k}_qrs_of_masked` (share of
its masked time inside QRS), `mask_{k}_qrs_covered` (share of all QRS time it masks), and
`qrs_time`, `qrs_detected` (`ecgmask.pretrain.mask_stats`). `final_mask_statistics(sweep)`
is one row per trial: its last epoch's values with its row and seed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.results import pretrain_trial_histories

STAT_PREFIX = "mask_"


def final_mask_statistics(sweep: str | Path) -> pd.DataFrame:
    """row, seed, epoch and every mask statistic of each adversarial pretraining trial's last
    reported epoch; empty when the sweep has no adversarial trial (or no pretraining yet)."""
    rows = []
    for trial, history in pretrain_trial_histories(sweep):
        if "mask_0_time" not in history:
            continue
        last = history.dropna(subset=["mask_0_time"]).iloc[-1]
        keep = {k: last[k] for k in history.columns
                if k.startswith(STAT_PREFIX) or k in ("qrs_time", "qrs_detected", "epoch")}
        rows.append({"row": trial.config.get("row", trial.config.get("augmentation")),
                     "seed": trial.config.get("seed"), **keep})
    return pd.DataFrame(rows)
