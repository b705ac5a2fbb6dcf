"""Objectives as pure functions: NT-Xent, soft binarisation of masks, the sparsity penalty."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """SimCLR's NT-Xent over the 2B x 2B similarity matrix, both directions.

    z1[i] and z2[i] are the two views of sample i. Returns the mean over the 2B anchors.
    Computed in float32 with log-softmax, so it is stable under AMP and small temperatures.
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(f"nt_xent wants two (B, D) tensors of one shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0).float(), dim=1)
    logits = z @ z.t() / temperature
    # an anchor is never its own negative
    logits = logits.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
    positives = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(logits, positives)


def soft_binarize(m: torch.Tensor, k: float = 50.0) -> torch.Tensor:
    """sigmoid(k (m - 0.5)): close to a hard threshold at 0.5 but passes a gradient."""
    return torch.sigmoid(k * (m - 0.5))


def sparsity_penalty(masks: torch.Tensor, alpha: float, ratio: float) -> torch.Tensor:
    """alpha * sum_n mean_batch 1 / (sin(pi * R * p_n) + 1e-10), p_n = mean over time of mask n.

    `masks` is (B, N, L), before binarisation. The penalty is smallest at occupancy 1/(2R)
    and rises towards 0 and 1/R, which keeps each mask from vanishing or covering everything.

    The sine is clamped at 0: at an occupancy of exactly 1/R (a saturated mask, R = 1) float32
    gives sin(pi) = -8.7e-8, which would turn the largest penalty into about -1e7, the lowest.
    """
    if masks.dim() != 3:
        raise ValueError(f"sparsity_penalty wants masks of shape (B, N, L), got {tuple(masks.shape)}")
    p = masks.float().mean(dim=2)  # (B, N)
    per_mask = 1.0 / (torch.sin(math.pi * ratio * p).clamp_min(0.0) + 1e-10)
    return alpha * per_mask.mean(dim=0).sum()
