"""Fixtures for the data tests: tiny Challenge-layout records written on the fly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgmask.data.leads import LEADS

from .challenge_writer import write_challenge_record

REAL_RECORDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "real-records"


def ecg_like(rng: np.random.Generator, n: int, fs: float, leads: int = 12) -> np.ndarray:
    """(leads, n) mV: a spiky periodic beat per lead plus noise, never flat."""
    t = np.arange(n) / fs
    beat = np.exp(-(((t % 0.8) - 0.3) ** 2) / (2 * 0.01**2))
    gains = rng.uniform(0.3, 1.5, size=(leads, 1)) * rng.choice([-1, 1], size=(leads, 1))
    return (gains * beat + 0.05 * rng.standard_normal((leads, n))).astype(np.float32)


def write_record(
    out_dir: Path,
    name: str,
    *,
    seed: int = 0,
    fs: float = 500,
    seconds: float = 2.0,
    leads=LEADS,
    age="63",
    sex="Male",
    dx="426783006",
    signal: np.ndarray | None = None,
) -> Path:
    rng = np.random.default_rng(seed)
    n = int(round(fs * seconds))
    x = ecg_like(rng, n, fs, len(leads)) if signal is None else signal
    comments = []
    if age is not None:
        comments.append(f"Age: {age}")
    if sex is not None:
        comments.append(f"Sex: {sex}")
    if dx is not None:
        comments.append(f"Dx: {dx}")
    return write_challenge_record(out_dir, name, x, fs, leads=leads, comments=comments)


@pytest.fixture
def real_records() -> Path:
    if not REAL_RECORDS.is_dir():
        pytest.skip(f"real test records not found at {REAL_RECORDS.resolve()} (shared/ is not beside the clone)")
    return REAL_RECORDS


@pytest.fixture
def tree(tmp_path) -> Path:
    """Five good 2 s records at 500 Hz, one patient each, all four rhythm classes present."""
    root = tmp_path / "tree"
    codes = ["426783006", "164889003", "426177001", "427084000", "426783006,164934002"]
    sexes = ["Male", "Female", "Male", "Female", "Male"]
    for i, (dx, sex) in enumerate(zip(codes, sexes)):
        write_record(root, f"A{i:04d}", seed=i, dx=dx, sex=sex)
    return root
