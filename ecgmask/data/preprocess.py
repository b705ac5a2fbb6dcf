"""Preprocessing of one record, each step a named function (method.md, Data):

1. `despike`: samples with |x| > 20 mV or NaN are replaced by the previous (valid) sample.
   It runs before resampling so that a NaN or spike cannot smear into its neighbours.
2. `resample`: polyphase resampling (`scipy.signal.resample_poly`) to the target rate.
3. `zscore`: per-record normalisation, done per lead within the record: each lead's mean
   and standard deviation over the whole record (std floored at `std_floor` mV so that a
   near-flat lead does not blow up).
4. `make_windows`: fixed length; a shorter record is centre-padded with zeros (the mean
   after z-scoring); a longer one is cut into windows of `length` with `stride`, starting at
   sample 0; samples after the last full window are dropped.

`preprocess(signal, fs, params)` chains them and returns (n_windows, 12, length) float32.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction

import numpy as np

SPIKE_LIMIT_MV = 20.0


@dataclass(frozen=True)
class PreprocessParams:
    """Target rate (Hz), window length and stride (samples)."""

    fs: int = 500
    length: int = 5000
    stride: int = 2000

    def __post_init__(self):
        for name in ("fs", "length", "stride"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"PreprocessParams.{name} must be a positive integer, got {value!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def despike(x: np.ndarray, limit: float = SPIKE_LIMIT_MV) -> np.ndarray:
    """Replace |x| > limit or NaN by the previous valid sample of the same lead.

    x: (leads, n). Bad samples at the very start (no previous sample) take the lead's first
    valid value. A lead with no valid sample at all is returned as zeros (readers reject
    all-NaN leads before this). Returns a new array, or `x` itself when nothing is replaced.
    """
    x = np.asarray(x, dtype=np.float32)
    bad = ~(np.abs(x) <= limit)  # NaN compares false
    if not bad.any():
        return x  # nothing to replace: the input itself, unchanged
    n = x.shape[-1]
    pos = np.where(~bad, np.arange(n), -1)
    last_valid = np.maximum.accumulate(pos, axis=-1)
    # leading bad samples: take the first valid sample of the lead
    has_valid = (~bad).any(axis=-1)
    first_valid = np.where(has_valid, np.argmax(~bad, axis=-1), 0)
    idx = np.where(last_valid < 0, first_valid[:, None], last_valid)
    out = np.take_along_axis(x, idx, axis=-1)
    out[~has_valid] = 0.0
    return out


def resample(x: np.ndarray, fs_in: float, fs_out: int) -> np.ndarray:
    """Polyphase resampling of (leads, n) from fs_in to fs_out Hz along the last axis."""
    x = np.asarray(x, dtype=np.float32)
    if float(fs_in) == float(fs_out):
        return x
    ratio = Fraction(float(fs_out) / float(fs_in)).limit_denominator(10000)
    from scipy.signal import resample_poly

    return resample_poly(x, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32)


def zscore(x: np.ndarray, std_floor: float = 1e-3) -> np.ndarray:
    """Per-lead z-score over the record: (x - mean) / max(std, std_floor)."""
    x = np.asarray(x, dtype=np.float32)
    out = x - x.mean(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)
    std = np.sqrt(np.mean(out * out, axis=-1, keepdims=True))
    out /= np.maximum(std, np.float32(std_floor))
    return out


def make_windows(x: np.ndarray, length: int, stride: int) -> np.ndarray:
    """(leads, n) -> (n_windows, leads, length).

    n < length: one window, centre-padded with zeros; n >= length: windows starting at
    0, stride, 2*stride, ... as long as they fit.
    """
    leads, n = x.shape
    if n < length:
        out = np.zeros((1, leads, length), dtype=x.dtype)
        left = (length - n) // 2
        out[0, :, left : left + n] = x
        return out
    starts = np.arange(0, n - length + 1, stride)
    view = np.lib.stride_tricks.sliding_window_view(x, length, axis=-1)  # (leads, n-L+1, L)
    return np.ascontiguousarray(view[:, starts].transpose(1, 0, 2))


def n_windows(n: int, length: int, stride: int) -> int:
    """How many windows `make_windows` cuts from n samples."""
    return 1 if n < length else (n - length) // stride + 1


def preprocess(signal: np.ndarray, fs: float, params: PreprocessParams) -> np.ndarray:
    """despike -> resample -> zscore -> make_windows; (n_windows, 12, length) float32."""
    x = despike(signal)
    x = resample(x, fs, params.fs)
    x = zscore(x)
    return make_windows(x, params.length, params.stride)
