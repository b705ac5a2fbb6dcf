"""The learning-curve benchmark's arithmetic: paired intervals, the summary, early stopping."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location("learning", Path(__file__).parents[2] / "benchmarks" / "learning.py")
learning = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(learning)


def test_paired_interval_is_the_t_interval_of_the_differences():
    mean, lo, hi = learning.paired_interval([0.1, 0.2, 0.3])
    # t(0.975, 2) = 4.303; sd = 0.1; half-width = 4.303 * 0.1 / sqrt(3)
    assert mean == pytest.approx(0.2)
    assert hi - mean == pytest.approx(4.3027 * 0.1 / math.sqrt(3), rel=1e-4)
    assert mean - lo == pytest.approx(hi - mean)
    one = learning.paired_interval([0.5])
    assert one[0] == 0.5 and math.isnan(one[1]) and math.isnan(one[2])


def test_summary_pairs_each_seed_with_the_random_encoder_of_the_same_seed():
    rows = []
    for seed, (rnd, pre) in enumerate([(0.50, 0.60), (0.70, 0.75), (0.40, 0.52)]):
        rows.append({"encoder": "random", "epochs": 0, "task": "sex", "fraction": 1.0, "seed": seed, "test_accuracy": rnd})
        rows.append({"encoder": "3kg", "epochs": 10, "task": "sex", "fraction": 1.0, "seed": seed, "test_accuracy": pre})
    summary = learning.summarize(pd.DataFrame(rows)).set_index("encoder")
    assert summary.loc["3kg", "diff"] == pytest.approx(np.mean([0.10, 0.05, 0.12]))
    # paired: the spread of the differences, not of the accuracies, sets the interval
    _, lo, hi = learning.paired_interval([0.10, 0.05, 0.12])
    assert (summary.loc["3kg", "lo"], summary.loc["3kg", "hi"]) == pytest.approx((lo, hi))
    assert lo > 0
    assert math.isnan(summary.loc["random"].get("diff", math.nan))


def test_early_stop_epoch_counts_like_the_pretrainer():
    assert learning.early_stop_epoch([3.0, 2.0, 1.0, 0.5], patience=2) is None
    # best at epoch 2, then two epochs without a better loss: stops at epoch 4
    assert learning.early_stop_epoch([3.0, 2.0, 2.5, 2.0, 1.0], patience=2) == 4


def test_table_names_every_encoder_and_cell():
    rows = []
    for seed in (0, 1):
        for enc, e, acc in (("random", 0, 0.5), ("advmask", 3, 0.6), ("advmask", 30, 0.7)):
            rows.append({"encoder": enc, "epochs": e, "task": "arrhythmia", "fraction": 0.01, "seed": seed,
                         "test_accuracy": acc + 0.01 * seed})
    losses = pd.DataFrame({"augmentation": ["advmask"] * 2, "seed": [0, 0], "epoch": [3, 30], "nt_xent": [2.0, 1.5]})
    table = learning.table_markdown(learning.summarize(pd.DataFrame(rows)), losses, ["arrhythmia"], [0.01])
    lines = table.splitlines()
    assert lines[2].startswith("| random | - | - | 50.5 |")
    assert lines[3] == "| advmask | 3 | 2.000 | 60.5 (+10.0 [+10.0, +10.0]) |"
    assert lines[4].startswith("| advmask | 30 | 1.500 | 70.5 (+20.0")
