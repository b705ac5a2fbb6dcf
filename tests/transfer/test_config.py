"""`ProbeConfig` (`ecgmask.transfer.config`): the profile's budgets per mode, and refusals."""

from __future__ import annotations

import pytest

from ecgmask.profiles import LAPTOP
from ecgmask.transfer import ProbeConfig


def test_probe_config_from_profile():
    lin = ProbeConfig.from_profile(LAPTOP, task="arrhythmia", fraction=0.1, seed=1, mode="linear")
    assert (lin.steps, lin.eval_every, lin.patience, lin.width, lin.lr, lin.batch_size) == (
        LAPTOP.probe_steps, LAPTOP.probe_eval_every, LAPTOP.probe_patience, LAPTOP.width, 0.01, 256)
    assert lin.subset_seed is None  # one labelled subset for every seed unless the profile says otherwise
    scratch = ProbeConfig.from_profile("laptop", task="sex", fraction=1.0, seed=0, mode="scratch", steps=3)
    assert scratch.steps == 3 and scratch.finetune_lr == 1e-4
    assert (scratch.eval_every, scratch.patience, scratch.scratch_lr) == (
        LAPTOP.scratch_eval_every, LAPTOP.scratch_patience, LAPTOP.scratch_lr)
    assert ProbeConfig.from_profile("paper", task="sex", fraction=1.0, seed=0, mode="finetune").steps == 3000
    with pytest.raises(ValueError, match="unknown mode"):
        ProbeConfig.from_profile(LAPTOP, task="sex", fraction=1.0, seed=0, mode="probe")
    with pytest.raises(ValueError, match="fraction"):
        ProbeConfig.from_profile(LAPTOP, task="sex", fraction=0.0, seed=0)
    with pytest.raises(TypeError, match="no field"):
        ProbeConfig.from_profile(LAPTOP, task="sex", fraction=1.0, seed=0, learning_rate=1)
