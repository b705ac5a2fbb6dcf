"""End-to-end training (`ecgmask.transfer.end_to_end`): deterministic, trains the encoder, one
step budget for every fraction, multi-label tasks."""

from __future__ import annotations

import torch

from ecgmask.models import ResNet1d18
from ecgmask.transfer import train_end_to_end

from .fakes import FakeCache, FakeSuperclassCache, manual_splits, superclass_splits


def test_end_to_end_is_deterministic_and_computes_metrics_on_the_whole_test_set():
    cache = FakeCache(n_patients=40)
    y, splits = manual_splits(cache)

    def run(seed):
        torch.manual_seed(123)
        encoder = ResNet1d18(width=4)
        return train_end_to_end(encoder, cache, y, splits, 4, seed=seed, steps=5, eval_every=2, patience=3,
                                lr=1e-3, batch_size=7, device="cpu")

    a, b = run(0), run(0)
    assert a == b
    # 5 steps validated after 2, 4 and 5: three evaluations, the last one a short round
    assert (a["epochs_run"], a["steps_run"]) == (3, 5)
    # batches of 7 over the test set, but accuracy is counted over all of it
    n_test = len(splits["test"])
    assert n_test % 7 != 0
    assert abs(a["test_accuracy"] * n_test - round(a["test_accuracy"] * n_test)) < 1e-9
    assert 0.0 <= a["test_auc"] <= 1.0


def test_end_to_end_trains_the_encoder():
    cache = FakeCache(n_patients=40)
    y, splits = manual_splits(cache)
    torch.manual_seed(0)
    encoder = ResNet1d18(width=4)
    before = encoder.stem[0].weight.detach().clone()
    train_end_to_end(encoder, cache, y, splits, 4, seed=0, steps=1, eval_every=1, patience=1, device="cpu")
    assert not torch.equal(before, encoder.stem[0].weight.detach())


def test_end_to_end_gives_every_fraction_the_same_step_budget():
    """An epoch budget would give 1% of the labels a hundredth of the updates of 100%: the
    step budget gives both the same number of optimiser steps (until validation stops them)."""
    cache = FakeCache(n_patients=40)
    y, splits = manual_splits(cache)
    few = {**splits, "train": splits["train"][:5]}

    def steps_run(split, batch_size):
        torch.manual_seed(0)
        out = train_end_to_end(ResNet1d18(width=4), cache, y, split, 4, seed=0, steps=12, eval_every=4,
                               patience=10, batch_size=batch_size, device="cpu")
        return out["steps_run"]

    # the large split needs 2 batches of 16 a pass, the tiny one 1 batch of 5: 12 steps each
    assert len(splits["train"]) > 16
    assert steps_run(splits, 16) == steps_run(few, 16) == 12


def test_end_to_end_trains_a_multilabel_task():
    cache = FakeSuperclassCache()
    y, splits = superclass_splits(cache)

    def run():
        torch.manual_seed(0)
        return train_end_to_end(ResNet1d18(width=4), cache, y, splits, 5, seed=0, steps=30, eval_every=5,
                                patience=6, lr=1e-2, batch_size=16, device="cpu")

    a = run()
    assert a == run()
    assert {"val_auc", "test_auc", "test_accuracy", "steps_run"} <= set(a) and "val_accuracy" not in a
    assert a["test_auc"] > 0.6, a  # separable offsets: well above chance after 30 steps
