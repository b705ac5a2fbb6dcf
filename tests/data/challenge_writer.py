"""Writing a record in the PhysioNet/CinC Challenge layout, for the tests: the files the readers
must handle (good ones, and ones made bad on purpose)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ecgmask.data.leads import LEADS
from ecgmask.data.wfdb_reader import INVALID_16


def write_challenge_record(
    out_dir: str | os.PathLike,
    name: str,
    signal_mv: np.ndarray,
    fs: float,
    *,
    leads: tuple[str, ...] | list[str] = LEADS,
    comments: tuple[str, ...] | list[str] = (),
    gain: float = 1000.0,
) -> Path:
    """Write NAME.hea + NAME.mat in the Challenge layout (MATLAB v4 int16 `val`, `16+24`).

    `signal_mv` is (nsig, n) in mV; NaN is written as WFDB's invalid value -32768. Used by
    the tests to make records the reader must handle.
    """
    import scipy.io

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = np.asarray(signal_mv, dtype=np.float64)
    digital = np.where(np.isfinite(x), np.round(x * gain), INVALID_16)
    digital = np.clip(digital, -32768, 32767).astype(np.int16)
    scipy.io.savemat(out_dir / f"{name}.mat", {"val": digital}, format="4")
    lines = [f"{name} {x.shape[0]} {fs:g} {x.shape[1]}"]
    checksums = (digital.astype(np.int64).sum(axis=1) + 2**15) % 2**16 - 2**15  # signed, as WFDB writes
    for i, lead in enumerate(leads):
        first = int(digital[i, 0]) if x.shape[1] else 0
        lines.append(f"{name}.mat 16+24 {gain:g}/mV 16 0 {first} {int(checksums[i])} 0 {lead}")
    lines += [f"#{c}" for c in comments]
    (out_dir / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return out_dir / f"{name}.hea"

