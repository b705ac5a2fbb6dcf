"""End-to-end training of encoder + linear head on the labelled fraction (finetune, scratch).

The budget is a number of optimiser steps, not epochs: an epoch of 1% of the labels is a
hundredth of an epoch of 100%, so an epoch budget would give the data-scarce rows a hundred
times fewer updates. Every fraction gets the same `steps`, validated every `eval_every` steps,
until validation stops improving for `patience` evaluations."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ecgmask.transfer.early_stopping import fit_steps, seeded_batches
from ecgmask.transfer.objective import objective_for
from ecgmask.device import autocast, resolve_device


class EncoderClassifier(nn.Module):
    def __init__(self, encoder: nn.Module, n_classes: int):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.out_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def train_end_to_end(
    encoder: nn.Module,
    cache,
    y: np.ndarray,
    splits: dict[str, np.ndarray],
    n_classes: int,
    *,
    seed: int,
    steps: int,
    eval_every: int,
    patience: int,
    lr: float = 1e-4,
    batch_size: int = 256,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> dict:
    """Trains `encoder` (its weights as given: pretrained for finetune, random for scratch) plus
    a new linear head with Adam on the `splits["train"]` windows of `cache` for up to `steps`
    optimiser steps (batches drawn from one seeded shuffle after another), validates every
    `eval_every` steps, early-stops on `splits["val"]` accuracy and returns the best-validation
    model's metrics on the whole `splits["test"]` with `steps_run` and `best_step`. `y[i]` is
    the class of window i; for a multi-label task `y` is a (N, C) multi-hot matrix, trained
    with binary cross-entropy and early-stopped on validation macro AUC
    (`ecgmask.transfer.objective`). `seed` sets the head's initialisation and the batch order.
    AMP (fp16 with a gradient scaler) on CUDA."""
    device = resolve_device(device)
    objective = objective_for(y)
    labels = objective.targets(y)
    y = labels.numpy()
    train, val, test = (np.asarray(splits[k], dtype=np.int64) for k in ("train", "val", "test"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = EncoderClassifier(encoder, n_classes)
    model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    stream = seeded_batches(train, batch_size, torch.Generator().manual_seed(seed))

    def train_step() -> float:
        model.train()
        idx = next(stream)
        x = cache.batch(idx).to(device, non_blocking=True)
        target = labels[idx].to(device)
        with autocast(device):
            loss = objective.loss(model(x).float(), target)
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimiser)
        scaler.update()
        return loss.item()

    @torch.no_grad()
    def logits(idx: np.ndarray) -> np.ndarray:
        model.eval()
        out = []
        for start in range(0, len(idx), batch_size):
            x = cache.batch(idx[start : start + batch_size]).to(device, non_blocking=True)
            with autocast(device):
                out.append(model(x).float().cpu())
        return torch.cat(out).numpy()

    def val_score() -> float:
        return objective.val_score(y[val], logits(val))

    run = fit_steps(model, train_step=train_step, val_score=val_score, steps=steps, eval_every=eval_every,
                    patience=patience, progress=progress, desc="end-to-end")
    result = objective.report(run.fit, y[test], logits(test))
    result.update(steps_run=run.steps_run, best_step=run.best_step)
    return result
