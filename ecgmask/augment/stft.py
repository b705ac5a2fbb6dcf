"""STFT coefficient scaling: multiply each STFT coefficient by a Beta(5, 2) draw, invert."""

from __future__ import annotations

import torch

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, uniform


def beta_integer(generator: torch.Generator, size: tuple[int, ...], alpha: int, beta: int) -> torch.Tensor:
    """Beta(alpha, beta) draws for integer parameters, on the generator's device.

    Beta(a, b) = G_a / (G_a + G_b) with G_k ~ Gamma(k, 1) = -log(U_1 ... U_k); torch's own
    Beta sampler takes no generator, so it could not be reproduced from one.
    """
    u = 1.0 - uniform(generator, (alpha + beta, *size))  # in (0, 1]: log never sees 0
    g_a, g_b = _gamma_from_uniforms(u[:alpha]), _gamma_from_uniforms(u[alpha:])
    return g_a / (g_a + g_b).clamp_min(1e-30)


def _gamma_from_uniforms(u: torch.Tensor) -> torch.Tensor:
    # products of at most 5 float32 uniforms (>= 2^-120) cannot underflow; one log per product
    return -sum(torch.log(chunk.prod(dim=0)) for chunk in u.split(5))


@register("stft")
class StftScaling(Augmentation):
    """STFT (periodic Hann window of `window_seconds`, 999 samples at 500 Hz, hop half a
    window), each complex coefficient times Beta(alpha, beta) drawn per sample, lead, bin
    and frame, inverse STFT back to the input length.

    The window is at most T - 1 samples, so records shorter than the window still work.
    The record is zero-padded at both ends before the transform (scipy's boundary='zeros'),
    so every sample is covered by whole windows and the unscaled round trip is exact.
    """

    def __init__(self, fs: float, window_seconds: float = 999 / 500, alpha: int = 5, beta: int = 2):
        super().__init__(fs)
        if int(alpha) != alpha or int(beta) != beta or alpha < 1 or beta < 1:
            raise ValueError(f"stft: alpha and beta must be positive integers (exact sampler), got {alpha}, {beta}")
        if window_seconds <= 0:
            raise ValueError(f"stft: window_seconds must be > 0, got {window_seconds}")
        self.window_seconds = float(window_seconds)
        self.alpha = int(alpha)
        self.beta = int(beta)

    def n_fft(self, length: int) -> int:
        if length < 3:
            raise ValueError(f"stft: records of {length} samples are too short for an STFT")
        return max(2, min(round(self.window_seconds * self.fs), length - 1))

    def augment(self, x, generator):
        b, leads, length = x.shape
        n_fft = self.n_fft(length)
        spec = stft(x.reshape(b * leads, length), n_fft)
        scale = beta_integer(generator, spec.shape, self.alpha, self.beta).to(x.device)
        return istft(spec * scale, n_fft, length).reshape(b, leads, length)

    def extra_repr(self):
        return f"fs={self.fs:g}, window_seconds={self.window_seconds:.4g}, beta=({self.alpha}, {self.beta})"


def stft(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    """(N, L) -> (N, bins, frames) complex; the record is padded with n_fft zeros at the end
    so that the last frames cover its tail whatever n_fft and L are."""
    padded = torch.nn.functional.pad(x, (0, n_fft))
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    return torch.stft(padded, n_fft, n_fft // 2, window=window, center=True, pad_mode="constant", return_complex=True)


def istft(spec: torch.Tensor, n_fft: int, length: int) -> torch.Tensor:
    """Inverse of `stft`, cropped to `length` samples."""
    window = torch.hann_window(n_fft, device=spec.device, dtype=spec.real.dtype)
    return torch.istft(spec, n_fft, n_fft // 2, window=window, center=True, length=length + n_fft)[:, :length]
