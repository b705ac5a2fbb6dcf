"""The training loop shared by the linear probe and end-to-end training: early stopping on
validation accuracy, keeping the best-validation weights."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn
from tqdm.auto import tqdm

from ecgmask.metrics import classification_metrics


@dataclass
class FitResult:
    val_accuracy: float  # of the kept (best-validation) weights
    best_epoch: int
    epochs_run: int


def fit_early_stopping(
    model: nn.Module,
    *,
    train_epoch: Callable[[], float],
    val_accuracy: Callable[[], float],
    epochs: int,
    patience: int,
    progress: bool = False,
    desc: str = "probe",
) -> FitResult:
    """Runs `train_epoch()` (returns the mean training loss) then `val_accuracy()` for up to
    `epochs` epochs; stops after `patience` epochs without a strictly better validation
    accuracy and loads the weights of the best epoch (the first one on ties) into `model`."""
    best_acc, best_epoch, best_state = -1.0, 0, None
    epochs_run, waited = 0, 0
    bar = tqdm(range(1, epochs + 1), desc=desc, unit="epoch", disable=not progress)
    for epoch in bar:
        loss = train_epoch()
        acc = val_accuracy()
        epochs_run = epoch
        if acc > best_acc:
            best_acc, best_epoch, waited = acc, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        bar.set_postfix(loss=f"{loss:.4f}", val_acc=f"{acc:.4f}", best=f"{best_acc:.4f}@{best_epoch}")
        if waited >= patience:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(val_accuracy=best_acc, best_epoch=best_epoch, epochs_run=epochs_run)


def report(fit: FitResult, y_test, test_logits) -> dict:
    """The probe's result: whole-test-set metrics of the best-validation weights, plus how the
    fit went."""
    metrics = classification_metrics(y_test, test_logits)
    return {
        "test_accuracy": metrics["accuracy"],
        "test_balanced_accuracy": metrics["balanced_accuracy"],
        "test_auc": metrics["auc"],
        "val_accuracy": fit.val_accuracy,
        "best_epoch": fit.best_epoch,
        "epochs_run": fit.epochs_run,
    }
