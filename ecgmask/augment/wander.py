"""Baseline wander: a sum of slow cosines, scaled per lead."""

from __future__ import annotations

import math

import torch

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, normal, time_axis, uniform


@register("wander")
class BaselineWander(Augmentation):
    """Adds sum_k a_k cos(2 pi f_k t / fs + phi_k), k = 1..n_components, per sample, with
    f ~ U[min_frequency, max_frequency] Hz, phi ~ U[0, 2 pi], a ~ U[0, max_amplitude]; each
    lead gets that wave times its own N(1, lead_scale_std^2) factor (method.md: 3 cosines,
    0.01..0.2 Hz, amplitude up to 0.5, lead scale N(1, 0.5)).
    """

    def __init__(
        self,
        fs: float,
        n_components: int = 3,
        min_frequency: float = 0.01,
        max_frequency: float = 0.2,
        max_amplitude: float = 0.5,
        lead_scale_std: float = 0.5,
    ):
        super().__init__(fs)
        if not 0 <= min_frequency <= max_frequency:
            raise ValueError(f"wander: need 0 <= min_frequency <= max_frequency, got {min_frequency}, {max_frequency}")
        self.n_components = int(n_components)
        self.min_frequency = float(min_frequency)
        self.max_frequency = float(max_frequency)
        self.max_amplitude = float(max_amplitude)
        self.lead_scale_std = float(lead_scale_std)

    def augment(self, x, generator):
        b, leads, length = x.shape
        k = self.n_components
        f = uniform(generator, (b, k, 1), self.min_frequency, self.max_frequency)
        phi = uniform(generator, (b, k, 1), 0.0, 2 * math.pi)
        amp = uniform(generator, (b, k, 1), 0.0, self.max_amplitude)
        lead_scale = normal(generator, (b, leads, 1), 1.0, self.lead_scale_std)
        t = time_axis(length, self.fs, generator.device)
        wave = (amp * torch.cos(2 * math.pi * f * t + phi)).sum(dim=1, keepdim=True)  # (B, 1, L)
        return x + (lead_scale * wave).to(x.dtype)

    def extra_repr(self):
        return (f"fs={self.fs:g}, n_components={self.n_components}, frequency=[{self.min_frequency}, "
                f"{self.max_frequency}] Hz, max_amplitude={self.max_amplitude}, lead_scale_std={self.lead_scale_std}")
