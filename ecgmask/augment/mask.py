"""Random time-step masking: each time step zeroed with probability 0.2."""

from __future__ import annotations

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, uniform


@register("mask")
class RandomMask(Augmentation):
    """Zeroes each time step with probability `probability`, independently per sample.

    A zeroed time step is zeroed on all 12 leads (the reference masks time steps); pass
    `per_lead=True` to draw the mask independently for each lead.
    """

    def __init__(self, fs: float, probability: float = 0.2, per_lead: bool = False):
        super().__init__(fs)
        if not 0 <= probability <= 1:
            raise ValueError(f"mask: probability must be in [0, 1], got {probability}")
        self.probability = float(probability)
        self.per_lead = bool(per_lead)

    def augment(self, x, generator):
        b, leads, length = x.shape
        keep = uniform(generator, (b, leads if self.per_lead else 1, length)) >= self.probability
        return x * keep.to(x.dtype)

    def extra_repr(self):
        return f"fs={self.fs:g}, probability={self.probability}, per_lead={self.per_lead}"
