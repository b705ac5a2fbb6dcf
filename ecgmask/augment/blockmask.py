"""Block masking: each lead zeroes one contiguous block of 0.2 T."""

from __future__ import annotations

import torch

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, uniform


@register("blockmask")
class BlockMask(Augmentation):
    """Each lead of each sample zeroes round(fraction T) consecutive steps from its own
    uniformly drawn start in [0, T - block]."""

    def __init__(self, fs: float, fraction: float = 0.2):
        super().__init__(fs)
        if not 0 <= fraction <= 1:
            raise ValueError(f"blockmask: fraction must be in [0, 1], got {fraction}")
        self.fraction = float(fraction)

    def augment(self, x, generator):
        b, leads, length = x.shape
        block = round(self.fraction * length)
        start = (uniform(generator, (b, leads, 1)) * (length - block + 1)).floor().clamp_max(length - block)
        t = torch.arange(length, device=generator.device, dtype=torch.float32)
        inside = (t >= start) & (t < start + block)
        return x * (~inside).to(x.dtype)

    def extra_repr(self):
        return f"fs={self.fs:g}, fraction={self.fraction}"
