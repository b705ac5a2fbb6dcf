"""The training objective follows the labels (`ecgmask.transfer.objective`): cross-entropy for
class indices, binary cross-entropy for multi-hot rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgmask.transfer import linear_probe

from .fakes import separable_features, separable_multilabel_features


def test_multilabel_probe_trains_with_binary_cross_entropy(monkeypatch):
    from ecgmask.transfer import objective as objective_module

    calls = []
    real = objective_module.F.binary_cross_entropy_with_logits
    monkeypatch.setattr(objective_module.F, "binary_cross_entropy_with_logits",
                        lambda logits, target: calls.append(target.dtype) or real(logits, target))
    x, y, splits = separable_multilabel_features()
    linear_probe(x, y, splits, 5, seed=0, steps=1, eval_every=1, patience=1, device="cpu")
    assert calls and set(calls) == {torch.float32}
    calls.clear()
    xs, ys, s3 = separable_features()
    linear_probe(xs, ys, s3, 3, seed=0, steps=1, eval_every=1, patience=1, device="cpu")
    assert calls == []  # single-label: cross-entropy, as before


def test_objective_follows_the_shape_of_the_labels():
    from ecgmask.transfer import objective_for

    assert not objective_for(np.zeros(4, dtype=np.int64)).multilabel
    assert objective_for(np.zeros((4, 5), dtype=np.float32)).multilabel
    assert objective_for(np.zeros((4, 5))).val_key == "val_auc"
    with pytest.raises(ValueError, match="multi-hot"):
        objective_for(np.zeros((2, 3, 4)))
