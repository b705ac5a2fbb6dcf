"""Early stopping (`ecgmask.transfer.early_stopping`): the best validation epoch's weights are kept."""

from __future__ import annotations

import torch


def test_early_stopping_restores_the_best_validation_weights():
    from ecgmask.transfer.early_stopping import fit_early_stopping

    model = torch.nn.Linear(1, 1, bias=False)
    val_by_epoch = iter([0.2, 0.7, 0.5, 0.6, 0.7, 0.9])
    epoch = {"n": 0}

    def train_epoch():
        epoch["n"] += 1
        with torch.no_grad():
            model.weight.fill_(epoch["n"])  # the weights remember the epoch they come from
        return 0.0

    fit = fit_early_stopping(model, train_epoch=train_epoch, val_score=lambda: next(val_by_epoch),
                             epochs=6, patience=3)
    # epoch 2 is best (0.7; the tie at epoch 5 does not count), epochs 3-5 do not improve: stop at 5
    assert (fit.best_epoch, fit.epochs_run, fit.val_score) == (2, 5, 0.7)
    assert model.weight.item() == 2.0
