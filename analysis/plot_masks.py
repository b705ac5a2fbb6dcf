"""What the adversarial masker learned: its masks on a few downstream ECGs, and where they fall.

    python analysis/plot_masks.py --checkpoint <sweep>/<encoder of a key> --cache .cache/.../downstream-<hash>
    python analysis/plot_masks.py --sweep results/demo          # first advmask encoder and the sweep's data

The figure follows the paper's: lead II in red, the masked signal x * (1 - soft_binarize(m))
in green, the time where the soft mask drives the signal to zero (soft_binarize(m) > 0.5,
i.e. m > 0.5) shaded blue; one column per mask when N > 1 (for N = 12, one mask per lead,
the lead-II mask). R peaks (black ticks) come from a simple detector on lead II.

It also prints and writes (mask_stats.csv) per mask: the mean occupancy (mean of the raw
mask, the quantity the sparsity penalty holds near 1/(2R)), the fraction of time masked, and
the share of the masked time that falls inside QRS complexes (R peak +- 50 ms) against the
share of all time that is QRS: a mask that concentrates on QRS has the first well above the
second (the paper's claim is that one mask learns to cover QRS).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import signal as sps

from sweep.store.layout import SweepLayout

LEAD_II = 1  # index of lead II in ecgmask.data.LEADS
QRS_HALF_WIDTH_S = 0.05


# ---------------------------------------------------------------- R peaks and QRS windows


def detect_r_peaks(ecg: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of R peaks in one lead (a light Pan-Tompkins).

    Band-pass 5-15 Hz, squared derivative, 150 ms moving average, peaks of that envelope at
    least 250 ms apart (up to 240 bpm) and above 30% of its 99th percentile, each moved to
    the largest absolute deflection of the band-passed lead within 80 ms.
    """
    x = np.asarray(ecg, dtype=np.float64).reshape(-1)
    if fs < 40:
        raise ValueError(f"detect_r_peaks: needs fs >= 40 Hz to see QRS complexes, got {fs}")
    if x.size < int(fs):  # under a second: nothing to find reliably
        return np.zeros(0, dtype=np.int64)
    high = min(15.0, 0.45 * fs)
    b, a = sps.butter(2, [5.0 / (fs / 2), high / (fs / 2)], btype="band")
    filtered = sps.filtfilt(b, a, x)
    energy = np.gradient(filtered) ** 2
    window = max(1, int(round(0.15 * fs)))
    envelope = np.convolve(energy, np.ones(window) / window, mode="same")
    level = np.percentile(envelope, 99)
    if level <= 0:
        return np.zeros(0, dtype=np.int64)
    peaks, _ = sps.find_peaks(envelope, height=0.3 * level, distance=max(1, int(0.25 * fs)))
    reach = max(1, int(round(0.08 * fs)))
    refined = []
    for p in peaks:
        lo, hi = max(0, p - reach), min(x.size, p + reach + 1)
        refined.append(lo + int(np.argmax(np.abs(filtered[lo:hi]))))
    return np.unique(np.asarray(refined, dtype=np.int64))


def qrs_windows(length: int, peaks: np.ndarray, fs: float, half_width_s: float = QRS_HALF_WIDTH_S) -> np.ndarray:
    """Boolean (length,): True within +-half_width_s of any R peak."""
    out = np.zeros(length, dtype=bool)
    half = int(round(half_width_s * fs))
    for p in np.asarray(peaks, dtype=np.int64):
        out[max(0, p - half): min(length, p + half + 1)] = True
    return out


# ---------------------------------------------------------------- statistics


def mask_statistics(masks: np.ndarray, qrs: np.ndarray) -> pd.DataFrame:
    """Per mask n of raw masks (B, N, L) in [0, 1] and QRS windows (B, L):

    occupancy      mean of the raw mask (p_n of the sparsity penalty);
    masked_time    fraction of time with m > 0.5 (where soft_binarize drives x below half);
    qrs_share      fraction of that masked time inside QRS windows (NaN if nothing masked);
    qrs_time       fraction of all time inside QRS windows (the share a mask blind to QRS gets);
    qrs_enrichment qrs_share / qrs_time (1: no preference; >1: the mask seeks QRS).
    """
    masks = np.asarray(masks, dtype=np.float64)
    qrs = np.asarray(qrs, dtype=bool)
    if masks.ndim != 3 or qrs.shape != (masks.shape[0], masks.shape[2]):
        raise ValueError(f"mask_statistics wants masks (B, N, L) and qrs (B, L), got {masks.shape} and {qrs.shape}")
    qrs_time = float(qrs.mean())
    rows = []
    for n in range(masks.shape[1]):
        m = masks[:, n, :]
        masked = m > 0.5
        total = int(masked.sum())
        share = float((masked & qrs).sum() / total) if total else float("nan")
        rows.append({
            "mask": n,
            "occupancy": float(m.mean()),
            "masked_time": float(masked.mean()),
            "qrs_share": share,
            "qrs_time": qrs_time,
            "qrs_enrichment": share / qrs_time if qrs_time > 0 and total else float("nan"),
        })
    return pd.DataFrame(rows)


def format_statistics(stats: pd.DataFrame, n_ecgs: int) -> str:
    lines = [f"Masks over {n_ecgs} downstream ECGs (QRS = R peak on lead II +- {QRS_HALF_WIDTH_S * 1000:.0f} ms):",
             f"{'mask':>4}  {'occupancy':>9}  {'masked time':>11}  {'masked time in QRS':>18}  {'all time in QRS':>15}  {'ratio':>5}"]
    for s in stats.itertuples():
        share = "n/a" if np.isnan(s.qrs_share) else f"{s.qrs_share:.1%}"
        ratio = "n/a" if np.isnan(s.qrs_enrichment) else f"{s.qrs_enrichment:.2f}"
        lines.append(f"{s.mask:>4}  {s.occupancy:>9.1%}  {s.masked_time:>11.1%}  {share:>18}  {s.qrs_time:>15.1%}  {ratio:>5}")
    lines.append("ratio > 1: the mask falls on QRS more often than time does; occupancy = mean raw mask value.")
    return "\n".join(lines)


# ---------------------------------------------------------------- the masker


def load_advmask(checkpoint: str | os.PathLike, fs: float):
    """The AdvMask stage of a pretraining checkpoint (state.pt from Pretrainer.save_checkpoint), in eval mode.

    Rebuilt the way `ecgmask.pretrain.Pretrainer` builds it (`config.augmentation_options()`)
    without the encoder, optimisers or the pretraining cache that `from_checkpoint` needs.
    """
    import torch

    from ecgmask.augment import build, find_advmask
    from ecgmask.pretrain import STATE_FILE, PretrainConfig

    path = Path(checkpoint) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no pretraining state here (expected {STATE_FILE} written by pretraining)")
    state = torch.load(path, map_location="cpu", weights_only=False)
    config = PretrainConfig(**state["config"])
    if "masker" not in state:
        raise ValueError(f"{path}: pretrained with {config.augmentation!r}, which has no adversarial masker")
    aug = build(config.augmentation, fs, config.augmentation_options())
    advmask = find_advmask(aug)
    if advmask is None:
        raise ValueError(f"{path}: {config.augmentation!r} builds no advmask stage")
    try:
        advmask.load_state_dict(state["masker"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(f"{path}: the saved masker does not fit the current UNet1d (saved by another code "
                         f"version?): {first}") from exc
    return advmask.eval()


def compute_masks(advmask, x) -> np.ndarray:
    import torch

    with torch.no_grad():
        return advmask.masks(x.float()).cpu().numpy()


def find_advmask_checkpoint(sweep: str | os.PathLike) -> Path:
    """A published encoder of an advmask pretraining run of the sweep (`SweepLayout.encoders`):
    plain advmask rows first (the paper's mask figure), then compositions, by name."""
    import torch

    from ecgmask.pretrain import STATE_FILE

    root = Path(SweepLayout(str(sweep)).encoders)
    candidates = [p for p in root.glob("*") if (p / STATE_FILE).is_file()]
    for directory in sorted(candidates, key=lambda p: (not p.name.startswith("advmask-"), p.name)):
        state = torch.load(directory / STATE_FILE, map_location="cpu", weights_only=False)
        if "masker" in state:
            return directory
    raise FileNotFoundError(f"{root}: no advmask encoder (a directory with {STATE_FILE} holding a masker)")


def downstream_cache_of(sweep: str | os.PathLike) -> Path:
    path = Path(SweepLayout(str(sweep)).plan)
    try:
        plan = json.loads(path.read_text())
        return Path(plan["data"]["downstream"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: cannot find the downstream cache (data.downstream): {exc}") from exc


# ---------------------------------------------------------------- the figure


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True."""
    padded = np.r_[False, flags, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2]))


def plot_mask_figure(lead2: np.ndarray, masks: np.ndarray, fs: float, k: float, out_path: str | os.PathLike,
                     mask_columns=None, title: str = "") -> Path:
    """lead2 (B, L) z-scored lead II; masks (B, N, L) raw. One row per ECG, one column per mask."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    b, n, length = masks.shape
    columns = list(range(n)) if mask_columns is None else list(mask_columns)
    t = np.arange(length) / fs
    fig, axes = plt.subplots(b, len(columns), figsize=(6.5 * len(columns), 2.3 * b + 0.9),
                             sharex=True, squeeze=False)
    for i in range(b):
        peaks = detect_r_peaks(lead2[i], fs)
        qrs = qrs_windows(length, peaks, fs)
        for j, m_idx in enumerate(columns):
            ax = axes[i, j]
            m = masks[i, m_idx]
            soft = 1.0 / (1.0 + np.exp(-k * (m - 0.5)))
            for start, end in _runs(soft > 0.5):
                ax.axvspan(t[start], t[min(end, length - 1)], color="tab:blue", alpha=0.25, lw=0)
            ax.plot(t, lead2[i], color="red", lw=1.4)
            ax.plot(t, lead2[i] * (1.0 - soft), color="green", lw=0.8)
            top = float(np.max(lead2[i])) if length else 1.0
            ax.plot(t[peaks], np.full(len(peaks), top * 1.08 + 0.1), "v", color="black", ms=4)
            masked = soft > 0.5
            share = (masked & qrs).sum() / masked.sum() if masked.any() else float("nan")
            ax.set_title(f"ECG {i + 1}, mask {m_idx + 1}: masks {masked.mean():.0%} of time, "
                         f"{'n/a' if np.isnan(share) else f'{share:.0%}'} of it in QRS (QRS: {qrs.mean():.0%} of time)",
                         fontsize=9)
            ax.grid(alpha=0.3, lw=0.5)
            if j == 0:
                ax.set_ylabel("lead II (z-score)")
            if i == b - 1:
                ax.set_xlabel("time (s)")
    handles = [plt.Line2D([], [], color="red", label="lead II"),
               plt.Line2D([], [], color="green", label="masked signal x(1 − m̃)"),
               Patch(color="tab:blue", alpha=0.25, label="masked (m̃ > 0.5)"),
               plt.Line2D([], [], color="black", marker="v", ls="", label="R peak (detected)")]
    height = fig.get_figheight()
    if title:
        fig.suptitle(title, y=1.0 - 0.08 / height, va="top", fontsize=10)
    fig.legend(handles=handles, loc="upper center", ncol=4, frameon=False, fontsize=9,
               bbox_to_anchor=(0.5, 1.0 - (0.32 if title else 0.05) / height))
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.5 if title else 0.28) / height))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=130)
    plt.close(fig)
    return out_path


def plot_masks(checkpoint: str | os.PathLike, cache_path: str | os.PathLike, out_dir: str | os.PathLike, *,
               n: int = 3, n_stats: int = 64, seed: int = 0) -> dict:
    """Mask figure (masks.png) and statistics (mask_stats.csv) of one advmask checkpoint.

    The figure shows `n` ECGs drawn (seeded) from the downstream cache; the statistics run
    over `n_stats` ECGs (the figure's first). Returns {"figure", "stats_csv", "stats", "text"}.
    """
    from ecgmask.data import EcgCache

    cache = EcgCache.open(cache_path)
    fs = float(cache.meta["fs"])
    advmask = load_advmask(checkpoint, fs)
    rng = np.random.default_rng(seed)
    count = min(len(cache), max(n, n_stats))
    if count == 0:
        raise ValueError(f"{cache_path}: the cache holds no ECG")
    order = np.sort(rng.choice(len(cache), size=count, replace=False))
    x = cache.batch(order)
    masks = compute_masks(advmask, x)
    lead2 = x[:, LEAD_II].numpy()
    qrs = np.stack([qrs_windows(lead2.shape[1], detect_r_peaks(s, fs), fs) for s in lead2])
    stats = mask_statistics(masks, qrs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats_csv = out_dir / "mask_stats.csv"
    stats.to_csv(stats_csv, index=False)
    n_masks = masks.shape[1]
    columns = [LEAD_II] if n_masks == 12 else list(range(n_masks))
    figure = plot_mask_figure(
        lead2[:n], masks[:n], fs, advmask.k, out_dir / "masks.png", mask_columns=columns,
        title=f"Adversarial masks (N={n_masks}{', lead-II mask shown' if n_masks == 12 else ''}) of {Path(checkpoint).name}",
    )
    return {"figure": figure, "stats_csv": stats_csv, "stats": stats, "text": format_statistics(stats, len(order))}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="plot_masks.py",
        description="Plot the masks an advmask pretraining checkpoint produces on downstream ECGs "
                    "(lead II red, masked signal green, masked time blue) and measure how much of "
                    "the masked time falls inside QRS complexes.")
    p.add_argument("--checkpoint", metavar="DIR", help="pretraining checkpoint directory (state.pt + encoder.pt)")
    p.add_argument("--cache", metavar="DIR", help="downstream cache directory (EcgCache)")
    p.add_argument("--sweep", metavar="PATH",
                   help="take the first advmask encoder the sweep at PATH published and the downstream "
                        "cache of its plan when --checkpoint / --cache are not given")
    p.add_argument("--n", type=int, default=3, help="ECGs in the figure (default 3)")
    p.add_argument("--n-stats", type=int, default=64, help="ECGs the statistics run over (default 64)")
    p.add_argument("--seed", type=int, default=0, help="which ECGs are drawn (default 0)")
    p.add_argument("--out", default="figures", metavar="DIR", help="output directory (default ./figures)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.n < 1 or args.n_stats < 1:
        print("plot_masks: --n and --n-stats must be at least 1", file=sys.stderr)
        return 2
    try:
        checkpoint, cache = args.checkpoint, args.cache
        if checkpoint is None or cache is None:
            if args.sweep is None:
                print("plot_masks: give --checkpoint and --cache, or --sweep", file=sys.stderr)
                return 2
            checkpoint = checkpoint or find_advmask_checkpoint(args.sweep)
            cache = cache or downstream_cache_of(args.sweep)
        result = plot_masks(checkpoint, cache, args.out, n=args.n, n_stats=args.n_stats, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"plot_masks: {exc}", file=sys.stderr)
        return 1
    print(result["text"])
    print(f"wrote {result['figure']} and {result['stats_csv']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
