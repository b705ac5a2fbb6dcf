"""run_probe: one transfer run (linear, finetune, scratch or random) on a downstream cache."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from ecgmask.checkpoint import load_encoder
from ecgmask.models.resnet1d import ResNet1d18
from ecgmask.tasks import get_task, labelled_rows, task_labels
from ecgmask.transfer.config import CHECKPOINT_MODES, ProbeConfig
from ecgmask.transfer.embeddings import compute_embeddings, embeddings
from ecgmask.transfer.end_to_end import train_end_to_end
from ecgmask.transfer.linear import linear_probe

log = logging.getLogger(__name__)


def task_splits(cache, config: ProbeConfig) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """(y, classes, {"train", "val", "test"}) for the config's task (`ecgmask.tasks`).

    `y` has a row per window: the class index (int64, -1 without a label) for a single-label
    task, a float32 (N, C) multi-hot row (NaN without a label) for a multi-label one.

    The patient split depends on `config.split_seed` only, so every trial seed has the same
    validation and test sets; the labelled subset on `config.subset_seed` (None: `split_seed`),
    nested across fractions either way. Windows without a label for the task are dropped from
    every split.
    """
    from ecgmask.data import fraction_indices, split_indices

    task = get_task(config.task)
    records = cache.records
    where = getattr(cache, "path", "the downstream cache")
    labelled = labelled_rows(records, task)
    if not labelled.any():
        why = "the column is absent" if task.column not in records.columns else "it is empty on every window"
        raise ValueError(
            f"cache {where} has no labels for task {task.name!r}: no window has a {task.column!r} value "
            f"({why}; {task.description or 'see ecgmask/tasks.py'})"
        )
    y_labelled, classes = task_labels(records[labelled], task)
    if task.multilabel:
        y = np.full((len(records), task.n_classes), np.nan, dtype=np.float32)
    else:
        y = np.full(len(records), -1, dtype=np.int64)
    y[labelled] = y_labelled
    split = split_indices(records, seed=config.split_seed)
    subset_seed = config.split_seed if config.subset_seed is None else config.subset_seed
    train = fraction_indices(records, split["train"], config.fraction, seed=subset_seed)
    splits = {}
    for name, idx in (("train", train), ("val", split["val"]), ("test", split["test"])):
        idx = np.asarray(idx, dtype=np.int64)
        splits[name] = idx[labelled[idx]]
        if len(splits[name]) == 0:
            raise ValueError(
                f"{where}: no {config.task!r}-labelled window in the {name} split "
                f"(fraction {config.fraction}, split seed {config.split_seed}, subset seed {subset_seed})"
            )
    return y, list(classes), splits


def classes_without_auc(y_test: np.ndarray, classes: list[str]) -> list[str]:
    """The classes of a multi-label test set with no positive or no negative window: they have
    no AUC and are left out of the macro `test_auc`."""
    positives = np.asarray(y_test, dtype=bool).sum(axis=0)
    return [c for c, n in zip(classes, positives) if n == 0 or n == len(y_test)]


def _open(cache):
    if isinstance(cache, (str, os.PathLike)):
        from ecgmask.data import EcgCache

        return EcgCache.open(cache)
    return cache


def run_probe(config: ProbeConfig, cache, checkpoint_dir: str | os.PathLike | None = None, *, progress: bool = False) -> dict:
    """Transfers to `config.task` on `cache` (an EcgCache or its directory) and returns
    `test_accuracy`, `test_balanced_accuracy`, `test_auc` (macro one-vs-rest), `val_accuracy`
    (of the kept weights), `n_train`, `n_val`, `n_test` (windows), `steps_run`, `best_step`
    (optimiser steps), `epochs_run`, `best_epoch` (validations).

    A multi-label task (`ecgmask.tasks`, e.g. superdiagnostic) reports `val_auc` (the macro
    AUC early stopping maximised) instead of `val_accuracy`; `test_accuracy` is the exact-match
    accuracy, `test_auc` the macro AUC over the classes with a positive and a negative test
    window, and `test_auc_skipped` names the others (comma-separated, '' when none; logged).

    - linear: frozen pretrained encoder; its embeddings are stored once in `checkpoint_dir` and
      reused; a linear head is fitted on them.
    - random: the same linear probe on a frozen encoder with random weights (seeded by `seed`).
    - finetune: the pretrained encoder and a linear head trained end to end.
    - scratch: a randomly initialised encoder (width `config.width`) and head trained end to end.
    """
    cache = _open(cache)
    if config.mode in CHECKPOINT_MODES and checkpoint_dir is None:
        raise ValueError(f"mode {config.mode!r} needs a checkpoint_dir holding a pretrained encoder.pt")
    y, classes, splits = task_splits(cache, config)
    common = dict(
        seed=config.seed, steps=config.steps, eval_every=config.eval_every, patience=config.patience,
        batch_size=config.batch_size, device=config.device, progress=progress,
    )
    if config.mode in CHECKPOINT_MODES:
        encoder, _ = load_encoder(checkpoint_dir)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            encoder = ResNet1d18(width=config.width)

    if config.mode == "linear":
        features = embeddings(encoder, cache, Path(checkpoint_dir), batch_size=config.batch_size,
                              device=config.device, progress=progress)
        result = linear_probe(features, y, splits, len(classes), lr=config.lr,
                              standardize=config.standardize, **common)
    elif config.mode == "random":
        # only the labelled windows in use need features; nothing to store for a random encoder
        used = np.unique(np.concatenate(list(splits.values())))
        features = np.zeros((len(cache), encoder.out_dim), dtype=np.float32)
        features[used] = compute_embeddings(encoder, cache, indices=used, batch_size=config.batch_size,
                                            device=config.device, progress=progress)
        result = linear_probe(features, y, splits, len(classes), lr=config.lr,
                              standardize=config.standardize, **common)
    else:
        lr = config.finetune_lr if config.mode == "finetune" else config.scratch_lr
        result = train_end_to_end(encoder, cache, y, splits, len(classes), lr=lr, **common)

    result.update(n_train=len(splits["train"]), n_val=len(splits["val"]), n_test=len(splits["test"]))
    if get_task(config.task).multilabel:
        skipped = classes_without_auc(y[splits["test"]], classes)
        if skipped:
            log.warning("task %s: class(es) %s have no positive or no negative test window; test_auc is "
                        "the mean over the other %d", config.task, ", ".join(skipped), len(classes) - len(skipped))
        result["test_auc_skipped"] = ",".join(skipped)
    return result
