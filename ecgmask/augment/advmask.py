"""Adversarial masking (Bo et al. 2022): a U-Net masker proposes N masks; the view is
x * (1 - soft_binarize(m)).

The masker is trained by the pretraining loop (`ecgmask.pretrain`) to maximise the
contrastive loss that the encoder minimises. `adversarial_view(x, generator)` gives the
view and the raw masks in one forward of the masker; the view reaches the masks through a
gradient reversal, so one backward of `NT-Xent(x, view) + sparsity_penalty(masks)` gives
the encoder the gradient of NT-Xent with the masks as constants and the masker the gradient
of -NT-Xent + sparsity penalty (method.md, Objectives), both on the same weights. Called as
a plain augmentation, `AdvMask` applies the current masks without building a graph.

Two options make the ablations of what shapes the masks: `objective="sparsity_only"` gives
the view the masks detached, so the masker's only gradient is the sparsity penalty's (the
reference's effective objective, where its NT-Xent gradients cancel: method.md); and
`threshold` moves the binarisation's midpoint from 0.5 (e.g. to 1/N, the reference's
threshold for softmax masks with N >= 3).
"""

from __future__ import annotations

import torch

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, check_batch
from ecgmask.losses import soft_binarize
from ecgmask.models.unet1d import UNet1d

OBJECTIVES = ("adversarial", "sparsity_only")


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.neg()


def reverse_gradient(x: torch.Tensor) -> torch.Tensor:
    """x in the forward pass; the gradient flowing back through it changes sign (Ganin and
    Lempitsky 2015): whatever a loss of the output descends, the network making `x` ascends."""
    return _GradientReversal.apply(x)


@register("advmask")
class AdvMask(Augmentation):
    """For n_masks != 12 one of the N masks is drawn per sample and applied to all leads;
    for n_masks == 12 mask n is applied to lead n (method.md, Objectives)."""

    is_adversarial = True

    def __init__(self, fs: float, n_masks: int = 2, k: float = 50.0, width: int = 16, in_leads: int = 12,
                 objective: str = "adversarial", threshold: float = 0.5):
        super().__init__(fs)
        if objective not in OBJECTIVES:
            raise ValueError(f"advmask: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
        if not 0.0 < float(threshold) < 1.0:
            raise ValueError(f"advmask: the binarisation threshold must lie in (0, 1), got {threshold}")
        if n_masks == 12 and in_leads != 12:
            raise ValueError(f"advmask: n_masks=12 means one mask per lead and needs 12 leads, got in_leads={in_leads}")
        if k <= 0:
            raise ValueError(f"advmask: the soft-binarisation slope k must be positive, got {k}")
        self.n_masks = int(n_masks)
        self.k = float(k)
        self.in_leads = int(in_leads)
        self.objective = objective
        self.threshold = float(threshold)
        self.masker = UNet1d(in_channels=in_leads, n_masks=n_masks, width=width)

    def masks(self, x: torch.Tensor) -> torch.Tensor:
        """(B, leads, L) -> (B, N, L) raw masks in [0, 1] (before binarisation)."""
        if x.dim() != 3 or x.shape[1] != self.in_leads:
            raise ValueError(f"advmask: wants a batch of shape (B, {self.in_leads}, L), got {tuple(x.shape)}")
        return self.masker(x)

    def binarize(self, masks: torch.Tensor) -> torch.Tensor:
        """sigmoid(k (m - threshold)): the soft-binarised masks the view applies."""
        # soft_binarize's midpoint is 0.5: shift the masks so that it falls on the threshold
        return soft_binarize(masks.float() + (0.5 - self.threshold), self.k)

    def apply(self, x: torch.Tensor, masks: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """x * (1 - binarize(m)); differentiable with respect to `masks`."""
        b, leads, length = x.shape
        if masks.shape != (b, self.n_masks, length):
            raise ValueError(f"advmask: masks of shape {tuple(masks.shape)} do not fit a batch {tuple(x.shape)} "
                             f"with n_masks={self.n_masks}")
        soft = self.binarize(masks)
        if self.n_masks == 12:
            keep = 1.0 - soft  # (B, 12, L): mask n on lead n
        else:
            # one draw per sample per step, always taken (also for N == 1) so that the
            # generator advances the same way whatever N is
            choice = torch.randint(self.n_masks, (b,), generator=generator, device=generator.device).to(x.device)
            keep = (1.0 - soft[torch.arange(b, device=x.device), choice]).unsqueeze(1)  # (B, 1, L)
        return (x.float() * keep).to(x.dtype)

    def adversarial_view(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(view, raw masks (B, N, L)), the view made from the masks through `reverse_gradient`:
        minimising a loss of the view trains the masker to maximise it, while a loss of the
        raw masks (the sparsity penalty) is minimised by the masker as written. The same
        draws and values as `self(x, generator)`. With objective "sparsity_only" the view
        gets the masks detached: no gradient of a loss of the view reaches the masker."""
        check_batch(x, generator, self.name)
        masks = self.masks(x)
        link = reverse_gradient if self.objective == "adversarial" else torch.Tensor.detach
        return self.apply(x, link(masks), generator), masks

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        with torch.no_grad():
            return self.apply(x, self.masks(x), generator)

    def extra_repr(self) -> str:
        return (f"fs={self.fs:g}, n_masks={self.n_masks}, k={self.k:g}, objective={self.objective}, "
                f"threshold={self.threshold:g}")
