"""The training loop shared by the linear probe and end-to-end training: early stopping on a
validation score (accuracy, or macro AUC for a multi-label task: `ecgmask.transfer.objective`),
keeping the best-validation weights."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

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

