"""The training loop shared by the linear probe and end-to-end training: a budget of optimiser
steps with early stopping on a validation score (accuracy, or macro AUC for a multi-label task:
`ecgmask.transfer.objective`), keeping the best-validation weights."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm


@dataclass
class FitResult:
    val_score: float  # of the kept (best-validation) weights
    best_epoch: int
    epochs_run: int


def fit_early_stopping(
    model: nn.Module,
    *,
    train_epoch: Callable[[], float],
    val_score: Callable[[], float],
    epochs: int,
    patience: int,
    progress: bool = False,
    desc: str = "probe",
) -> FitResult:
    """Runs `train_epoch()` (returns the mean training loss) then `val_score()` for up to
    `epochs` epochs; stops after `patience` epochs without a strictly better validation
    score and loads the weights of the best epoch (the first one on ties) into `model`."""
    best_score, best_epoch, best_state = -1.0, 0, None
    epochs_run, waited = 0, 0
    bar = tqdm(range(1, epochs + 1), desc=desc, unit="epoch", disable=not progress)
    for epoch in bar:
        loss = train_epoch()
        score = val_score()
        epochs_run = epoch
        if score > best_score:
            best_score, best_epoch, waited = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        bar.set_postfix(loss=f"{loss:.4f}", val=f"{score:.4f}", best=f"{best_score:.4f}@{best_epoch}")
        if waited >= patience:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(val_score=best_score, best_epoch=best_epoch, epochs_run=epochs_run)



@dataclass
class StepFit:
    fit: FitResult  # its epochs are validations
    steps_run: int
    best_step: int  # the optimiser step after which the kept weights were validated


def fit_steps(
    model: nn.Module,
    *,
    train_step: Callable[[], float],
    val_score: Callable[[], float],
    steps: int,
    eval_every: int,
    patience: int,
    progress: bool = False,
    desc: str = "probe",
) -> StepFit:
    """A budget of optimiser steps, the same for every labelled fraction: `train_step()` (one
    optimiser step, returns its loss) up to `steps` times, `val_score()` every `eval_every`
    steps (and after the last), stopping after `patience` validations without a strictly better
    score; the best-validation weights are loaded into `model` (`fit_early_stopping`)."""
    if steps < 1 or eval_every < 1:
        raise ValueError(f"steps and eval_every must be at least 1, got {steps} and {eval_every}")
    done = 0

    def train_round() -> float:
        """`eval_every` steps (fewer in the last round, so the total is `steps`)."""
        nonlocal done
        n = min(eval_every, steps - done)
        done += n
        return sum(train_step() for _ in range(n)) / n

    fit = fit_early_stopping(model, train_epoch=train_round, val_score=val_score, epochs=-(-steps // eval_every),
                             patience=patience, progress=progress, desc=desc)
    return StepFit(fit=fit, steps_run=done, best_step=min(fit.best_epoch * eval_every, steps))


def seeded_batches(rows, batch_size: int, generator: torch.Generator) -> Iterator:
    """Endless batches of `rows` (a tensor or an array): one seeded shuffle after another."""
    while True:
        order = torch.randperm(len(rows), generator=generator)
        perm = rows[order.to(rows.device)] if isinstance(rows, torch.Tensor) else rows[order.numpy()]
        for start in range(0, len(perm), batch_size):
            yield perm[start : start + batch_size]
