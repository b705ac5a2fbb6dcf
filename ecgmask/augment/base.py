"""The base class every augmentation derives from, and the random draws they share.

An augmentation is an `nn.Module` called as `aug(x, generator)` on a batch `x` of shape
(B, leads, L). All draws come from `generator`, which lives on the batch's device, so a
CUDA batch is augmented on the GPU in one go and the same seed gives the same output.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Augmentation(nn.Module):
    """Base class: holds the sampling rate `fs` (Hz); subclasses implement `augment`.

    `forward` checks the input, runs `augment` in float32 (float64 stays float64), and casts
    the result back, so float16/bfloat16 batches (AMP) work and every stage draws the same
    random numbers whatever the input dtype.
    """

    # pretraining trains the stage whose class sets this (see `ecgmask.augment.find_advmask`)
    # through `adversarial_view`
    is_adversarial = False
    name = "?"  # set by `ecgmask.augment.register`

    def __init__(self, fs: float):
        super().__init__()
        fs = float(fs)
        if not math.isfinite(fs) or fs <= 0:
            raise ValueError(f"{type(self).__name__}: sampling rate fs must be a positive number of Hz, got {fs}")
        self.fs = fs

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        check_batch(x, generator, self.name)
        work = x.to(torch.promote_types(x.dtype, torch.float32))
        return self.augment(work, generator).to(x.dtype)

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The augmentation proper, on a float32 (or float64) batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement augment(x, generator)")

    def adversarial_view(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The view pretraining trains on and the raw masks (B, N, L) that made it.

        Same draws and values as `self(x, generator)`. Here (no adversarial stage) the view
        is made without a graph and the masks are None; an adversarial augmentation returns
        a view whose gradient reaches its masker reversed (see `ecgmask.augment.advmask`).
        """
        with torch.no_grad():
            return self(x, generator), None

    def extra_repr(self) -> str:
        return f"fs={self.fs:g}"


def check_batch(x: torch.Tensor, generator: torch.Generator, name: str) -> None:
    """Raises a ValueError naming the augmentation when the batch or generator is unusable."""
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"augmentation {name!r}: wants a floating-point batch of shape (B, leads, L), got {shape}")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"augmentation {name!r}: wants a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != x.device.type:
        raise ValueError(
            f"augmentation {name!r}: the generator is on {generator.device} but the batch is on {x.device}; "
            "make it with torch.Generator(device=x.device)"
        )


def uniform(generator: torch.Generator, size: tuple[int, ...], low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """float32 draws from U[low, high) on the generator's device."""
    u = torch.rand(size, generator=generator, device=generator.device)
    return low + (high - low) * u


def normal(generator: torch.Generator, size: tuple[int, ...], mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """float32 draws from N(mean, std^2) on the generator's device."""
    return mean + std * torch.randn(size, generator=generator, device=generator.device)


def time_axis(length: int, fs: float, device: torch.device) -> torch.Tensor:
    """Sample times t / fs in seconds, shape (length,), float32."""
    return torch.arange(length, device=device, dtype=torch.float32) / fs
