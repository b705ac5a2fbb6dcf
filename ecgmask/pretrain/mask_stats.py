"""What the masks cover, measured each epoch on a fixed probe of windows.

For each mask k on the probe: raw occupancy (mean of m_k), masked time (share of samples
with m_k above the binarisation threshold, i.e. where the applied mask is past half), the
share of that masked time inside QRS complexes, and the share of all QRS time it masks.
The QRS track comes from the cache (annotations: the generator's or cardiologists') or,
for windows without one, from `ecgmask.data.qrs.detect_qrs` (XQRS on lead II), and
`qrs_detected` says what share of the probe used the detector. The QRS shares are taken
where the annotations say what is QRS and what is not (LUDB leaves each record's edges
unannotated); occupancy and masked time over all the time.

Metric names (per mask k = 0..N-1): `mask_{k}_raw`, `mask_{k}_time`, `mask_{k}_qrs_of_masked`,
`mask_{k}_qrs_covered`; per probe: `qrs_time` (QRS share of all probe time), `qrs_detected`.
"""

from __future__ import annotations

import numpy as np
import torch

PROBE_WINDOWS = 64
PROBE_SPLIT_SEED = 0


def probe_indices(cache, indices: np.ndarray, n: int = PROBE_WINDOWS) -> np.ndarray:
    """`n` windows spread evenly over the validation part of the cache's patient split
    (`split_indices(records, 0)["val"]`) among `indices`; over `indices` themselves when
    the split leaves none (a tiny cache). Fixed for a cache: every run sees the same ones."""
    from ecgmask.data.splits import split_indices

    indices = np.asarray(indices, dtype=np.int64)
    pool = indices
    records = getattr(cache, "records", None)
    if records is not None and "patient_id" in getattr(records, "columns", ()):
        try:
            val = split_indices(records, seed=PROBE_SPLIT_SEED)["val"]
        except ValueError:
            val = np.array([], dtype=np.int64)
        val = np.intersect1d(np.asarray(val, dtype=np.int64), indices)
        if len(val):
            pool = val
    if len(pool) <= n:
        return np.sort(pool)
    return np.sort(pool)[np.linspace(0, len(pool) - 1, n).round().astype(np.int64)]


def probe_qrs(cache, idx: np.ndarray, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """((B, L) bool QRS track of the probe, (B, L) bool annotated track, share of windows
    whose track came from the detector). `windows` is the probe's signal (B, 12, L) as numpy."""
    from ecgmask.data.qrs import detect_qrs

    b, _, length = windows.shape
    track = np.zeros((b, length), dtype=bool)
    known = np.ones((b, length), dtype=bool)
    annotated = np.zeros(b, dtype=bool)
    records = getattr(cache, "records", None)
    if records is not None and "qrs_source" in getattr(records, "columns", ()) and hasattr(cache, "qrs_track"):
        stored = cache.qrs_track(idx)
        if stored is not None:
            annotated = records["qrs_source"].iloc[idx].notna().to_numpy()
            track[annotated] = stored[0][annotated]
            known[annotated] = stored[1][annotated]
    fs = float(cache.meta["fs"])
    for i in np.flatnonzero(~annotated):
        track[i] = detect_qrs(windows[i, 1], fs)  # lead II
    return track, known, float((~annotated).mean()) if b else 0.0


@torch.no_grad()
def mask_statistics(masks: torch.Tensor, qrs: torch.Tensor, threshold: float,
                    known: torch.Tensor | None = None) -> dict[str, float]:
    """masks (B, N, L) raw in [0, 1]; qrs (B, L) bool; known (B, L) bool, where the QRS track
    is known (None: everywhere) -> the per-mask metrics (module doc). A share with nothing
    to divide by (no masked time, no QRS) is NaN."""
    m = masks.float()
    hard = m > threshold
    q = qrs.to(device=m.device, dtype=torch.bool).unsqueeze(1)  # (B, 1, L)
    annotated = torch.ones_like(q) if known is None else known.to(device=m.device, dtype=torch.bool).unsqueeze(1)
    q = q & annotated
    both = (hard & q).sum(dim=(0, 2)).double()
    masked = (hard & annotated).sum(dim=(0, 2)).double()
    qrs_total = q.sum().double()
    out = {}
    raw = m.mean(dim=(0, 2)).tolist()
    time = hard.double().mean(dim=(0, 2)).tolist()
    of_masked = torch.where(masked > 0, both / masked.clamp(min=1), torch.full_like(both, float("nan"))).tolist()
    covered = (both / qrs_total).tolist() if qrs_total > 0 else [float("nan")] * m.shape[1]
    for k in range(m.shape[1]):
        out[f"mask_{k}_raw"] = raw[k]
        out[f"mask_{k}_time"] = time[k]
        out[f"mask_{k}_qrs_of_masked"] = of_masked[k]
        out[f"mask_{k}_qrs_covered"] = covered[k]
    out["qrs_time"] = float(q.sum().double() / annotated.sum().clamp(min=1).double())
    return out
