"""Linear probe: Linear(D, classes) on frozen features (Adam, lr 0.01, batch 256, early stopping).

Its budget is a number of optimiser steps, validated every `eval_every` steps, as for
end-to-end training: the same for every labelled fraction (an epoch of 1% of the labels is
one step, so an epoch budget gave the 1% probes a hundred times fewer updates than 100%).

Single-label tasks train it with cross-entropy, multi-label tasks with binary cross-entropy
on independent sigmoids (`ecgmask.transfer.objective`)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ecgmask.transfer.early_stopping import fit_steps, seeded_batches
from ecgmask.transfer.objective import objective_for
from ecgmask.device import resolve_device


def linear_probe(
    features: np.ndarray,
    y: np.ndarray,
    splits: dict[str, np.ndarray],
    n_classes: int,
    *,
    seed: int,
    steps: int,
    eval_every: int,
    patience: int,
    lr: float = 0.01,
    batch_size: int = 256,
    standardize: bool = True,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> dict:
    """Fits the head on `splits["train"]` rows of `features` for up to `steps` optimiser steps
    (batches from one seeded shuffle after another), validates every `eval_every` steps,
    early-stops after `patience` validations without a better `splits["val"]` accuracy (macro
    AUC for a multi-label task) and returns the best-validation head's metrics on the whole
    `splits["test"]` (`ecgmask.transfer.objective.Objective.report`) with `steps_run` and
    `best_step`.

    `y[i]` is the class of row i of `features`, or for a multi-label task `y` is a (N, C)
    multi-hot matrix. `seed` sets the head's initialisation and the batch order; on CPU the
    same seed gives the same numbers.

    With `standardize` every feature is z-scored by its mean and standard deviation over the
    training rows (the labelled fraction only: no validation or test input is looked at), as
    a BatchNorm without affine parameters before the head does in MoCo v3 / MAE linear probes.
    The head stays linear in the features; this only keeps Adam's fixed lr meaningful for
    encoders whose features have very different scales (a random encoder's vary ~100x less).
    """
    device = resolve_device(device)
    x = torch.as_tensor(np.asarray(features, dtype=np.float32), device=device)
    objective = objective_for(y)
    labels = objective.targets(y).to(device)
    train, val, test = (torch.as_tensor(np.asarray(splits[k], dtype=np.int64), device=device) for k in ("train", "val", "test"))
    if standardize:
        mean = x[train].mean(dim=0)
        std = x[train].std(dim=0, unbiased=False) if len(train) > 1 else torch.ones_like(mean)
        x = (x - mean) / (std + 1e-6)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Linear(x.shape[1], n_classes)
    head.to(device)
    optimiser = torch.optim.Adam(head.parameters(), lr=lr)
    stream = seeded_batches(train, batch_size, torch.Generator().manual_seed(seed))

    def train_step() -> float:
        head.train()
        idx = next(stream)
        loss = objective.loss(head(x[idx]), labels[idx])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return loss.item()

    @torch.no_grad()
    def logits(idx: torch.Tensor) -> np.ndarray:
        head.eval()
        return head(x[idx]).float().cpu().numpy()

    def val_score() -> float:
        return objective.val_score(labels[val].cpu().numpy(), logits(val))

    run = fit_steps(head, train_step=train_step, val_score=val_score, steps=steps, eval_every=eval_every,
                    patience=patience, progress=progress, desc="linear probe")
    result = objective.report(run.fit, labels[test].cpu().numpy(), logits(test))
    result.update(steps_run=run.steps_run, best_step=run.best_step)
    return result
