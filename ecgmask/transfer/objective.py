"""What a transfer run trains and scores, for a single-label or a multi-label task.

- single-label (y int (N,), one class per window): cross-entropy over softmax logits; early
  stopping on validation accuracy; test accuracy, balanced accuracy and macro one-vs-rest AUC.
- multi-label (y multi-hot (N, C)): binary cross-entropy with logits, one independent sigmoid
  per class; early stopping on the validation macro AUC (accuracy at a 0.5 threshold says
  little while the classes are rare); test metrics of `ecgmask.metrics.multilabel_metrics`:
  `test_accuracy` is the exact-match accuracy (every label of a window right),
  `test_balanced_accuracy` the mean per-class balanced accuracy, `test_auc` the macro AUC.

The linear probe and end-to-end training tell them apart by the shape of `y` (`objective_for`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ecgmask.metrics import accuracy, classification_metrics, macro_auc_per_class, multilabel_metrics
from ecgmask.transfer.early_stopping import FitResult


@dataclass(frozen=True)
class Objective:
    multilabel: bool

    @property
    def val_key(self) -> str:
        """The result key of the validation score early stopping maximises."""
        return "val_auc" if self.multilabel else "val_accuracy"

    def targets(self, y: np.ndarray) -> torch.Tensor:
        """float32 multi-hot (N, C) or int64 class indices (N,), on the CPU."""
        return torch.as_tensor(np.asarray(y, dtype=np.float32 if self.multilabel else np.int64))

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.multilabel:
            return F.binary_cross_entropy_with_logits(logits, target)
        return F.cross_entropy(logits, target)

    def val_score(self, y: np.ndarray, logits: np.ndarray) -> float:
        """Validation accuracy, or for a multi-label task the macro AUC (0.5, chance, when no
        class has both a positive and a negative validation window, so the first epoch wins)."""
        if self.multilabel:
            auc, _ = macro_auc_per_class(y, logits)
            return 0.5 if np.isnan(auc) else auc
        return accuracy(y, np.asarray(logits).argmax(axis=1))

    def report(self, fit: FitResult, y_test: np.ndarray, test_logits: np.ndarray) -> dict:
        """The run's result: whole-test-set metrics of the best-validation weights, the
        validation score they had, and how the fit went."""
        if self.multilabel:
            metrics = multilabel_metrics(y_test, test_logits)
        else:
            metrics = classification_metrics(y_test, test_logits)
        return {
            "test_accuracy": metrics["accuracy"],
            "test_balanced_accuracy": metrics["balanced_accuracy"],
            "test_auc": metrics["auc"],
            self.val_key: fit.val_score,
            "best_epoch": fit.best_epoch,
            "epochs_run": fit.epochs_run,
        }


def objective_for(y: np.ndarray) -> Objective:
    """Multi-label when `y` is a (N, C) multi-hot matrix, single-label when it is (N,)."""
    ndim = np.ndim(y)
    if ndim not in (1, 2):
        raise ValueError(f"labels must be (N,) class indices or a (N, C) multi-hot matrix, got shape {np.shape(y)}")
    return Objective(multilabel=ndim == 2)
