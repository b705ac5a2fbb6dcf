"""Additive Gaussian noise, N(0, std^2), std 0.05 on z-scored ECGs (method.md)."""

from __future__ import annotations

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, normal


@register("gaussian")
class GaussianNoise(Augmentation):
    """x + N(0, std^2), drawn independently per sample, lead and time step.

    The reference shares one noise vector across the 12 leads of a sample; pass
    `shared_across_leads=True` for that reading.
    """

    def __init__(self, fs: float, std: float = 0.05, shared_across_leads: bool = False):
        super().__init__(fs)
        if std < 0:
            raise ValueError(f"gaussian: std must be >= 0, got {std}")
        self.std = float(std)
        self.shared_across_leads = bool(shared_across_leads)

    def augment(self, x, generator):
        b, leads, length = x.shape
        noise = normal(generator, (b, 1 if self.shared_across_leads else leads, length), std=self.std)
        return x + noise.to(x.dtype)

    def extra_repr(self):
        return f"fs={self.fs:g}, std={self.std}, shared_across_leads={self.shared_across_leads}"
