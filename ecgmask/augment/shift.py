"""Baseline shift: one segment of the record offset by a per-lead constant."""

from __future__ import annotations

import torch

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, normal, uniform


@register("shift")
class BaselineShift(Augmentation):
    """Per sample, one segment of length N(length_fraction T, (length_std_fraction T)^2)
    (rounded, clipped to [1, T]) at a uniform start, shared by the leads; each lead adds a
    constant of magnitude U[min_offset, max_offset] and random sign on that segment.
    """

    def __init__(
        self,
        fs: float,
        length_fraction: float = 0.2,
        length_std_fraction: float = 0.04,
        min_offset: float = 0.75,
        max_offset: float = 1.25,
    ):
        super().__init__(fs)
        if not 0 <= min_offset <= max_offset:
            raise ValueError(f"shift: need 0 <= min_offset <= max_offset, got {min_offset}, {max_offset}")
        self.length_fraction = float(length_fraction)
        self.length_std_fraction = float(length_std_fraction)
        self.min_offset = float(min_offset)
        self.max_offset = float(max_offset)

    def augment(self, x, generator):
        b, leads, length = x.shape
        seg = normal(generator, (b, 1, 1), self.length_fraction * length, self.length_std_fraction * length)
        seg = seg.round().clamp(1, length)
        start = (uniform(generator, (b, 1, 1)) * (length - seg + 1)).floor()
        magnitude = uniform(generator, (b, leads, 1), self.min_offset, self.max_offset)
        sign = torch.where(uniform(generator, (b, leads, 1)) < 0.5, -1.0, 1.0)
        t = torch.arange(length, device=generator.device, dtype=torch.float32)
        inside = (t >= start) & (t < start + seg)  # (B, 1, L)
        return x + (inside * magnitude * sign).to(x.dtype)

    def extra_repr(self):
        return (f"fs={self.fs:g}, length_fraction={self.length_fraction}+-{self.length_std_fraction}, "
                f"offset=[{self.min_offset}, {self.max_offset}]")
