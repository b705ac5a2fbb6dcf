"""What the pretraining tests share: an in-memory cache, a tiny config, bitwise state equality.
Registered as the module `ecgmask_tests_pretrain_support` by tests/pretrain/conftest.py."""

import math

import numpy as np
import torch

from ecgmask.pretrain import PretrainConfig


class MemoryCache:
    """Stand-in for `ecgmask.data.EcgCache`: `len`, `meta['fs']`, `batch(indices)`.

    Each record is a sum of two sinusoids (random rate and phase) seen through random
    per-lead gains plus noise: records differ, so contrastive learning has something to learn.
    `requested` lists the indices of every batch asked for, in order.
    """

    def __init__(self, n: int = 48, length: int = 128, fs: float = 100.0, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        t = torch.arange(length) / fs
        rate = 0.8 + 2.0 * torch.rand(n, 1, 1, generator=g)
        phase = 2 * math.pi * torch.rand(n, 1, 1, generator=g)
        gain = torch.randn(n, 12, 1, generator=g)
        wave = torch.sin(2 * math.pi * rate * t + phase) + 0.5 * torch.sin(4 * math.pi * rate * t)
        self.signals = (gain * wave + 0.1 * torch.randn(n, 12, length, generator=g)).float()
        self.meta = {"fs": fs, "length": length}
        self.requested: list[int] = []

    def __len__(self) -> int:
        return self.signals.shape[0]

    def batch(self, indices) -> torch.Tensor:
        indices = np.asarray(indices, dtype=np.int64)
        self.requested.extend(indices.tolist())
        return self.signals[torch.from_numpy(indices)]


def tiny(augmentation="advmask", **overrides) -> PretrainConfig:
    values = dict(augmentation=augmentation, seed=0, epochs=3, batch_size=8, accumulation=2, width=4,
                  masker_width=4, lr=1e-3, masker_lr=1e-3, device="cpu")
    values.update(overrides)
    return PretrainConfig(**values)


def same_state(a, b) -> bool:
    """Bitwise equality of two (nested) state dicts."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def without_speed(metrics: dict) -> dict:
    """The metrics but the throughput, a NaN share (a mask with no masked time) as "nan" so
    that two runs' metrics compare equal."""
    return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()
            if k != "samples_per_s"}
