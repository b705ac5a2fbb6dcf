"""Peak masking: zero the above-mean time steps of the lead-averaged signal, or their complement."""

from __future__ import annotations

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, uniform


@register("peakmask")
class PeakMask(Augmentation):
    """Per sample, the time steps where the mean over leads exceeds its own mean over the
    record are zeroed on all leads; with probability `complement_probability` the other
    time steps are zeroed instead."""

    def __init__(self, fs: float, complement_probability: float = 0.5):
        super().__init__(fs)
        if not 0 <= complement_probability <= 1:
            raise ValueError(f"peakmask: complement_probability must be in [0, 1], got {complement_probability}")
        self.complement_probability = float(complement_probability)

    def augment(self, x, generator):
        b = x.shape[0]
        avg = x.mean(dim=1, keepdim=True)  # (B, 1, L)
        above = avg > avg.mean(dim=2, keepdim=True)
        complement = uniform(generator, (b, 1, 1)) < self.complement_probability
        zero = above ^ complement
        return x * (~zero).to(x.dtype)

    def extra_repr(self):
        return f"fs={self.fs:g}, complement_probability={self.complement_probability}"
