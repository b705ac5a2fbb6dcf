"""Classification metrics over a whole test set: accuracy, balanced accuracy, macro AUC.

Single-label (one class per window, (N, C) logits): accuracy, balanced accuracy and the macro
one-vs-rest AUC of the softmax probabilities. Multi-label (a multi-hot (N, C) target, one
independent sigmoid per class): exact-match accuracy, the mean per-class balanced accuracy
and the macro AUC over classes (`multilabel_metrics`).

Pure numpy (no sklearn). Every function takes the predictions for the *whole* set at once, so
nothing is ever averaged per batch.
"""

from __future__ import annotations

import numpy as np


def _labels(y: np.ndarray, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    return y


def _label_pair(y_true, y_pred, metric: str) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in length")
    if y_true.size == 0:
        raise ValueError(f"{metric} of an empty set is undefined")
    return y_true, y_pred


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of correct predictions."""
    y_true, y_pred = _label_pair(y_true, y_pred, "accuracy")
    return float(np.mean(y_true == y_pred))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in `y_true` (sklearn's definition)."""
    y_true, y_pred = _label_pair(y_true, y_pred, "balanced accuracy")
    recalls = [np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]
    return float(np.mean(recalls))


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of `x`, ties getting the mean of the ranks they span."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    # start of every run of equal values in sorted order
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], xs.size]  # exclusive
    mean_rank = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def binary_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney U statistic: P(score+ > score-) + 0.5 P(score+ == score-).

    `y_true` is boolean or 0/1. NaN when one of the two classes is absent.
    """
    y_true = _labels(y_true, "y_true").astype(bool)
    scores = _labels(scores, "scores")
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true {y_true.shape} and scores {scores.shape} differ in length")
    if np.isnan(scores.astype(np.float64)).any():
        raise ValueError("scores contain NaN")
    n_pos = int(y_true.sum())
    n_neg = y_true.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = average_ranks(scores)
    u = ranks[y_true].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def macro_ovr_auc(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Unweighted mean over classes of the one-vs-rest AUC of column c of `probabilities` (N, C).

    Classes with no positive (or no negative) example in `y_true` have no AUC and are left out
    of the mean; NaN when no class has one.
    """
    y_true = _labels(y_true, "y_true")
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[0] != y_true.size:
        raise ValueError(f"probabilities must be (N, C) with N = {y_true.size}, got shape {probabilities.shape}")
    aucs = [binary_auc(y_true == c, probabilities[:, c]) for c in range(probabilities.shape[1])]
    aucs = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


def classification_metrics(y_true: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """accuracy, balanced_accuracy and auc (macro one-vs-rest on softmax probabilities) of (N, C) logits."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    y_pred = logits.argmax(axis=1)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy(y_true, y_pred),
        "auc": macro_ovr_auc(y_true, probabilities),
    }


def _multi_hot(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=np.float64)
    if y_true.ndim != 2 or y_true.shape != scores.shape:
        raise ValueError(f"multi-label y_true {y_true.shape} and scores {scores.shape} must be the same (N, C)")
    if y_true.shape[0] == 0:
        raise ValueError("multi-label metrics of an empty set are undefined")
    return y_true.astype(bool), scores


def macro_auc_per_class(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, list[int]]:
    """(mean over classes of the binary AUC of column c, [classes left out]) for a multi-hot
    (N, C) `y_true`. A class with no positive or no negative example has no AUC and is left
    out of the mean (and listed); NaN when no class has one."""
    y_true, scores = _multi_hot(y_true, scores)
    aucs = [binary_auc(y_true[:, c], scores[:, c]) for c in range(y_true.shape[1])]
    skipped = [c for c, a in enumerate(aucs) if np.isnan(a)]
    kept = [a for a in aucs if not np.isnan(a)]
    return (float(np.mean(kept)) if kept else float("nan")), skipped


def exact_match_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of rows whose every label is right (subset accuracy) for multi-hot (N, C) arrays."""
    y_true, y_pred = _multi_hot(y_true, y_pred)
    return float(np.mean((y_true == y_pred.astype(bool)).all(axis=1)))


def multilabel_metrics(y_true: np.ndarray, logits: np.ndarray) -> dict:
    """Metrics of (N, C) logits of independent sigmoids against a multi-hot (N, C) `y_true`.

    A class is predicted when its probability exceeds 0.5 (logit > 0).
    - accuracy: exact match (every one of the C labels of a row right);
    - balanced_accuracy: mean over classes of the binary balanced accuracy of that class;
    - auc: macro AUC over the classes with both a positive and a negative example;
    - auc_skipped: the indices of the classes left out of `auc`.
    """
    y_true, logits = _multi_hot(y_true, logits)
    y_pred = logits > 0
    auc, skipped = macro_auc_per_class(y_true, logits)
    per_class = [balanced_accuracy(y_true[:, c], y_pred[:, c]) for c in range(y_true.shape[1])]
    return {
        "accuracy": exact_match_accuracy(y_true, y_pred),
        "balanced_accuracy": float(np.mean(per_class)),
        "auc": auc,
        "auc_skipped": skipped,
    }
