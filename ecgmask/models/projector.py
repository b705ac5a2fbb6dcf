"""SimCLR projection head (method.md, Models); used in pretraining only, never transferred."""

from __future__ import annotations

import torch
from torch import nn


class Projector(nn.Sequential):
    """Linear(in_dim, hidden) - ReLU - Linear(hidden, out_dim).

    The paper's head is 512 -> 2048 -> 128; a narrower encoder (laptop profile) passes
    hidden = 4 * in_dim, which is the same ratio.
    """

    def __init__(self, in_dim: int, hidden: int = 2048, out_dim: int = 128):
        if min(in_dim, hidden, out_dim) < 1:
            raise ValueError(
                f"Projector: sizes must be positive, got in_dim={in_dim}, hidden={hidden}, out_dim={out_dim}"
            )
        super().__init__(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))
        self.config = {"in_dim": in_dim, "hidden": hidden, "out_dim": out_dim}
        self.out_dim = out_dim

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return super().forward(h)
