"""The profiles' sizes: the laptop study must be able to resolve what it measures."""

from __future__ import annotations

import pytest

from ecgmask.data.splits import fraction_indices, split_indices
from ecgmask.profiles import LAPTOP, PAPER, PROFILES, SMOKE, get_profile


def test_laptop_test_split_and_one_percent_are_large_enough():
    """One synthetic record is one window at the laptop's 10 s length, split 80/10/10 by patient:
    the test split must hold >= 500 windows (one ECG <= 0.2 points) and 1% of the training
    patients >= 30 labelled ECGs."""
    import numpy as np
    import pandas as pd

    n = LAPTOP.downstream_records
    records = pd.DataFrame({"patient_id": [f"p{i}" for i in range(n)], "record": [f"r{i}" for i in range(n)]})
    split = split_indices(records, seed=0)
    assert len(split["test"]) >= 500
    assert len(fraction_indices(records, split["train"], 0.01, seed=0)) >= 30
    assert np.intersect1d(split["test"], split["train"]).size == 0


def test_laptop_window_is_one_synthetic_record():
    # synthetic records are 10 s long: at the laptop's rate one window of `length` covers one
    assert LAPTOP.length == 10 * LAPTOP.fs


def test_smoke_is_smaller_than_laptop_everywhere_it_costs_time():
    for field in ("epochs", "pretrain_records", "downstream_records", "scratch_steps", "probe_steps", "width"):
        assert getattr(SMOKE, field) < getattr(LAPTOP, field), field


def test_profiles_by_name():
    assert set(PROFILES) == {"laptop", "paper", "smoke"}
    assert get_profile("paper") is PAPER
    with pytest.raises(ValueError, match="unknown profile 'tiny'"):
        get_profile("tiny")


@pytest.mark.parametrize("profile", [LAPTOP, PAPER, SMOKE], ids=lambda p: p.name)
def test_probe_budgets_are_steps_and_one_subset_is_the_default(profile):
    # a budget of optimiser steps validated inside it, for the linear head and end to end alike
    assert 1 <= profile.probe_eval_every <= profile.probe_steps and profile.probe_patience >= 1
    assert 1 <= profile.scratch_eval_every <= profile.scratch_steps
    assert profile.split_seed_per_seed is False
    assert profile.with_overrides(split_seed_per_seed=True).split_seed_per_seed is True
