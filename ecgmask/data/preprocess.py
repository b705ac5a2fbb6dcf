"""Preprocessing of one record, each step a named function (method.md, Data):

1. `despike`: a sample time at which any lead has |x| > 20 mV or NaN is replaced, on every
   lead, by the last sample time at which all leads were valid. Replacing whole sample times
   (not one lead's sample) keeps the limb-lead identities: a spike in I shows in III, aVR,
   aVL and aVF too, but only some of them cross the limit, and replacing those alone would
   leave III != II - I. It runs before resampling so that a NaN or spike cannot smear into
   its neighbours.
2. `resample`: polyphase resampling (`scipy.signal.resample_poly`) to the target rate.
3. `normalize`: `normalization="record"` (default, method.md "z-score per record"): each
   lead minus its own mean, then ONE standard deviation over all leads and samples of the
   record. Both steps are linear and common to the leads, so the limb-lead identities
   III = II - I, aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2 (which 3KG's
   inverse-Dower projection relies on) and the relative lead amplitudes survive. (One
   common mean would not: (III - m) != (II - m) - (I - m); a lead's own mean obeys the same
   identities as the lead, so subtracting it keeps them.) `normalization="lead"` z-scores
   each lead on its own (the earlier behaviour, kept for comparison). Standard deviations
   are floored at `std_floor` mV so that a near-flat record or lead does not blow up.
4. `make_windows`: fixed length; a shorter record is centre-padded with zeros (the mean
   after normalising); a longer one is cut into windows of `length` with `stride`, starting
   at sample 0; samples after the last full window are dropped.

`preprocess(signal, fs, params)` chains them and returns (n_windows, 12, length) float32.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction

import numpy as np

from ecgmask.data.record import RecordError

SPIKE_LIMIT_MV = 20.0
NORMALIZATIONS = ("record", "lead")


@dataclass(frozen=True)
class PreprocessParams:
    """Target rate (Hz), window length and stride (samples), normalisation ('record' | 'lead').

    Every field is part of the cache key (`to_dict`), so a cache built with other values is
    rebuilt, not reused.
    """

    fs: int = 500
    length: int = 5000
    stride: int = 2000
    normalization: str = "record"

    def __post_init__(self):
        for name in ("fs", "length", "stride"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"PreprocessParams.{name} must be a positive integer, got {value!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"PreprocessParams.normalization must be one of {', '.join(NORMALIZATIONS)}, "
                f"got {self.normalization!r}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def despike(x: np.ndarray, limit: float = SPIKE_LIMIT_MV) -> np.ndarray:
    """Replace every sample time at which some lead has |x| > limit or NaN, on all leads.

    x: (leads, n). A bad sample time takes the values of the last earlier time at which every
    lead was valid; bad times at the very start take the first all-valid time. Each output
    time is thus a copy of an input time, and any linear relation between the leads (the
    limb-lead identities) still holds. Raises RecordError when no sample time is valid on
    every lead. Returns a new array, or `x` itself when nothing is replaced.
    """
    x = np.asarray(x, dtype=np.float32)
    bad = ~(np.abs(x) <= limit).all(axis=0)  # (n,); NaN compares false
    if not bad.any():
        return x  # nothing to replace: the input itself, unchanged
    if bad.all():
        raise RecordError(
            f"no valid sample: at every sample time some lead is NaN or beyond {limit:g} mV"
        )
    n = x.shape[-1]
    last_valid = np.maximum.accumulate(np.where(bad, -1, np.arange(n)))
    idx = np.where(last_valid < 0, int(np.argmax(~bad)), last_valid)
    return x[:, idx]


def resample(x: np.ndarray, fs_in: float, fs_out: int) -> np.ndarray:
    """Polyphase resampling of (leads, n) from fs_in to fs_out Hz along the last axis."""
    x = np.asarray(x, dtype=np.float32)
    if float(fs_in) == float(fs_out):
        return x
    ratio = Fraction(float(fs_out) / float(fs_in)).limit_denominator(10000)
    from scipy.signal import resample_poly

    return resample_poly(x, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32)


def _centre(x: np.ndarray) -> np.ndarray:
    """Each lead minus its own mean (float64 sums: a long record in float32 drifts)."""
    x = np.asarray(x, dtype=np.float32)
    return x - x.mean(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)


def zscore_record(x: np.ndarray, std_floor: float = 1e-3) -> np.ndarray:
    """Each lead centred on its own mean, all divided by one std over the whole record.

    The std is the root mean square of the centred record over all leads and samples,
    floored at `std_floor` (mV). Linear and common to the leads: the limb-lead identities and
    relative amplitudes survive.
    """
    out = _centre(x)
    std = np.sqrt(np.mean(np.square(out, dtype=np.float64)))
    out /= np.float32(max(std, std_floor))
    return out


def zscore_lead(x: np.ndarray, std_floor: float = 1e-3) -> np.ndarray:
    """Per-lead z-score over the record: (x - mean) / max(std, std_floor), each lead alone."""
    out = _centre(x)
    std = np.sqrt(np.mean(out * out, axis=-1, keepdims=True))
    out /= np.maximum(std, np.float32(std_floor))
    return out


def normalize(x: np.ndarray, normalization: str = "record", std_floor: float = 1e-3) -> np.ndarray:
    """`zscore_record` for 'record', `zscore_lead` for 'lead'."""
    if normalization == "record":
        return zscore_record(x, std_floor)
    if normalization == "lead":
        return zscore_lead(x, std_floor)
    raise ValueError(f"unknown normalization {normalization!r}; choose one of {', '.join(NORMALIZATIONS)}")


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
    """despike -> resample -> normalize -> make_windows; (n_windows, 12, length) float32."""
    x = despike(signal)
    x = resample(x, fs, params.fs)
    x = normalize(x, params.normalization)
    return make_windows(x, params.length, params.stride)
