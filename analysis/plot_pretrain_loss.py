"""Pretraining loss curves: the training NT-Xent of every pretraining trial, per epoch.

    python analysis/plot_pretrain_loss.py                    # latest sweep under ./results
    python analysis/plot_pretrain_loss.py --sweep results/demo --out figures

One line per Table-1 row (mean over seeds, band of one standard deviation), read through Ray
Tune's own result API (each trial's per-epoch reports), never from logs. A curve still falling
at its last epoch says the budget stopped pretraining before it flattened. Writes
pretrain_loss.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from analysis.results import DEFAULT_RESULTS_ROOT, SweepError, find_latest_sweep, pretrain_trial_histories
from sweep.store.layout import SweepLayout


def pretrain_history(sweep: str | Path) -> pd.DataFrame:
    """One row per (trial, epoch): row, seed, epoch, nt_xent (and masker_loss where reported)."""
    frames = []
    for trial, history in pretrain_trial_histories(sweep):
        if "nt_xent" not in history or "epoch" not in history:
            continue
        keep = [c for c in ("epoch", "nt_xent", "masker_loss") if c in history]
        frame = history[keep].dropna(subset=["nt_xent"]).drop_duplicates("epoch", keep="last").copy()
        frame["row"] = trial.config.get("row", trial.config.get("augmentation"))
        frame["seed"] = trial.config.get("seed")
        frames.append(frame)
    if not frames:
        raise SweepError(f"{sweep}: no pretraining trial reported an NT-Xent yet")
    return pd.concat(frames, ignore_index=True)


def plot_pretrain_loss(history: pd.DataFrame, out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = sorted(history["row"].unique())
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    cmap = plt.get_cmap("tab20")
    for i, row in enumerate(rows):
        per_epoch = history[history["row"] == row].groupby("epoch")["nt_xent"]
        mean, std = per_epoch.mean(), per_epoch.std(ddof=1).fillna(0.0)
        n = int(history[history["row"] == row]["seed"].nunique())
        colour = cmap(i % 20)
        ax.plot(mean.index, mean.to_numpy(), "-", color=colour, label=f"{row} (n={n})")
        ax.fill_between(mean.index, (mean - std).to_numpy(), (mean + std).to_numpy(), color=colour, alpha=0.15)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training NT-Xent (encoder step)")
    ax.set_title("Pretraining loss per row (mean ± 1 sd over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = out / "pretrain_loss.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Plot the per-epoch training NT-Xent of a sweep's pretraining "
                                     "trials, one line per row (mean ± 1 sd over seeds).")
    parser.add_argument("--sweep", help="sweep directory (default: the latest under ./results)")
    parser.add_argument("--out", help="output folder (default: <sweep>/figures)")
    args = parser.parse_args(argv)
    try:
        sweep = Path(args.sweep) if args.sweep else find_latest_sweep(DEFAULT_RESULTS_ROOT)
        path = plot_pretrain_loss(pretrain_history(sweep), args.out or SweepLayout(str(sweep)).figures)
    except SweepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
