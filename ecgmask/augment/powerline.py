"""Power-line interference: amp * cos(2 pi f t / fs + phi), f in {50, 60} Hz, amp ~ U[0, 0.5]."""

from __future__ import annotations

import math

import torch

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, uniform


@register("powerline")
class PowerlineNoise(Augmentation):
    """Adds one mains sinusoid per sample (the same on all leads): frequency drawn from
    `frequencies`, amplitude from U[0, max_amplitude], phase from U[0, 2 pi].

    The sinusoid is sampled as is at `fs`, so a mains frequency at or above Nyquist aliases as
    it would in an unfiltered recording: at fs = 100 Hz, 60 Hz appears at 40 Hz and 50 Hz at
    Nyquist (an alternating +-amp cos(phi) sequence). At 500 Hz both are below Nyquist.
    """

    def __init__(self, fs: float, frequencies: tuple[float, ...] = (50.0, 60.0), max_amplitude: float = 0.5):
        super().__init__(fs)
        if not frequencies or min(frequencies) <= 0:
            raise ValueError(f"powerline: frequencies must be positive Hz, got {frequencies}")
        self.frequencies = tuple(float(f) for f in frequencies)
        self.max_amplitude = float(max_amplitude)

    def augment(self, x, generator):
        b, _, length = x.shape
        choices = torch.tensor(self.frequencies, device=generator.device)
        pick = (uniform(generator, (b,)) * len(choices)).long().clamp_max(len(choices) - 1)
        f = choices[pick]
        amp = uniform(generator, (b,), 0.0, self.max_amplitude)
        phi = uniform(generator, (b,), 0.0, 2 * math.pi)
        # cycles in float64, reduced mod 1: float32 phases over 10 s of 60 Hz lose ~1e-4 rad
        n = torch.arange(length, device=generator.device, dtype=torch.float64)
        cycles = torch.remainder(f.double()[:, None] * n / self.fs, 1.0).float()
        wave = amp[:, None] * torch.cos(2 * math.pi * cycles + phi[:, None])  # (B, L)
        return x + wave[:, None, :].to(x.device, x.dtype)

    def extra_repr(self):
        return f"fs={self.fs:g}, frequencies={self.frequencies}, max_amplitude={self.max_amplitude}"
