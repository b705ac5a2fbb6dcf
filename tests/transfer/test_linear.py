"""The linear probe (`ecgmask.transfer.linear`): a budget of optimiser steps, early stopping on
the best validation weights, multi-label tasks, determinism, no look at the test inputs."""

from __future__ import annotations

import numpy as np

from ecgmask.transfer import linear_probe

from .fakes import separable_features, separable_multilabel_features


def test_linear_probe_budget_is_optimiser_steps_whatever_the_fraction():
    # 8 labelled rows fit one batch: an epoch is one step, yet the budget runs in full
    x, y, splits = separable_features(seed=4)
    few = {**splits, "train": splits["train"][:8]}
    out = linear_probe(x, y, few, 3, seed=0, steps=30, eval_every=3, patience=100, device="cpu")
    assert (out["steps_run"], out["epochs_run"]) == (30, 10)
    assert out["best_step"] == 3 * out["best_epoch"]
    # a budget that is not a multiple of the interval ends with a short round
    out = linear_probe(x, y, few, 3, seed=0, steps=7, eval_every=3, patience=100, device="cpu")
    assert (out["steps_run"], out["epochs_run"]) == (7, 3)


def test_linear_probe_learns_and_stops_early():
    x, y, splits = separable_features()
    out = linear_probe(x, y, splits, 3, seed=0, steps=1000, eval_every=5, patience=3, batch_size=16)
    assert out["test_accuracy"] >= 0.9 and out["test_auc"] >= 0.95 and out["val_accuracy"] >= 0.9
    # stopped `patience` validations after the best one, long before the cap of 1000 steps
    assert out["epochs_run"] == out["best_epoch"] + 3 < 200
    assert out["steps_run"] == 5 * out["epochs_run"] and out["best_step"] == 5 * out["best_epoch"]


def test_linear_probe_reports_best_validation_weights():
    # val accuracy of the kept head is the maximum seen, so more patience never lowers it
    x, y, splits = separable_features(seed=3)
    x = x + np.random.default_rng(1).standard_normal(x.shape).astype(np.float32) * 4  # hard task
    short = linear_probe(x, y, splits, 3, seed=0, steps=40, eval_every=1, patience=1)
    long = linear_probe(x, y, splits, 3, seed=0, steps=40, eval_every=1, patience=40)
    assert long["epochs_run"] == 40
    assert long["val_accuracy"] >= short["val_accuracy"]
    assert short["epochs_run"] == short["best_epoch"] + 1


def test_linear_probe_multilabel_learns_separable_labels():
    x, y, splits = separable_multilabel_features()
    out = linear_probe(x, y, splits, 5, seed=0, steps=1400, eval_every=7, patience=5, batch_size=16, device="cpu")
    # early stopping on the validation macro AUC, reported as val_auc (there is no val_accuracy)
    assert "val_accuracy" not in out and out["val_auc"] >= 0.95
    assert out["test_auc"] >= 0.95
    assert out["test_accuracy"] >= 0.5  # exact match: all five labels of a row right
    assert 0.8 <= out["test_balanced_accuracy"] <= 1.0
    assert out["epochs_run"] == out["best_epoch"] + 5 < 200
    assert linear_probe(x, y, splits, 5, seed=0, steps=1400, eval_every=7, patience=5, batch_size=16, device="cpu") == out


def test_linear_probe_is_deterministic_on_cpu():
    x, y, splits = separable_features(seed=1)
    a = linear_probe(x, y, splits, 3, seed=5, steps=50, eval_every=5, patience=10, batch_size=16, device="cpu")
    b = linear_probe(x, y, splits, 3, seed=5, steps=50, eval_every=5, patience=10, batch_size=16, device="cpu")
    assert a == b


def test_linear_probe_never_looks_at_test_inputs_while_training():
    # standardisation uses training rows only: wild test features leave training untouched
    x, y, splits = separable_features(seed=2)
    a = linear_probe(x, y, splits, 3, seed=0, steps=15, eval_every=1, patience=15, device="cpu")
    x2 = x.copy()
    x2[splits["test"]] = x2[splits["test"]] * 1000 + 50
    b = linear_probe(x2, y, splits, 3, seed=0, steps=15, eval_every=1, patience=15, device="cpu")
    assert (a["val_accuracy"], a["best_epoch"], a["epochs_run"]) == (b["val_accuracy"], b["best_epoch"], b["epochs_run"])
