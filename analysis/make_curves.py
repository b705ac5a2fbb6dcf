"""Dataset-size curves: linear-probe test metric against the labelled training fraction.

    python analysis/make_curves.py                      # latest sweep under ./results
    python analysis/make_curves.py --sweep results/demo --rows scratch,advmask --out figures

One panel per task; x is the training fraction on a log axis, labelled as a percentage and
as the number of training ECGs (`n_train` of the probe results); each row is its mean over
seeds with a band of one standard deviation (ddof=1). Failed trials are left out, as in
Table 1. Writes curves.png and curves.svg.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from analysis.results import DEFAULT_RESULTS_ROOT, METRIC_LABELS, METRICS, SweepError, load_sweeps
from ecgmask.tasks import TASKS  # registry order: arrhythmia, sex, then the others
from analysis.table1 import format_fraction, order_rows, select_trials, task_metric
from sweep.store import files as store
from sweep.store.layout import is_uri, join

DEFAULT_ROWS = ("scratch", "peakmask", "3kg", "advmask", "advmask+3kg")
# one colour and marker per row, stable across figures
STYLE = {
    "scratch": ("tab:gray", "o"), "random": ("black", "x"), "peakmask": ("tab:orange", "s"),
    "3kg": ("tab:green", "^"), "advmask": ("tab:blue", "D"), "advmask+3kg": ("tab:purple", "v"),
    "blockmask": ("tab:brown", "P"), "shift": ("tab:olive", "<"), "wander": ("tab:cyan", ">"),
    "mask": ("tab:pink", "*"),
}


def curve_points(trials: pd.DataFrame, metric: str = "accuracy", rows=DEFAULT_ROWS) -> pd.DataFrame:
    """row, task, fraction, mean, std, n (seeds), n_train (median over trials) in %, ok trials only;
    `metric` for the tasks whose headline is accuracy, the task's own headline metric otherwise."""
    chosen, _ = select_trials(trials)
    # each task's panel shows the metric its Table-1 columns show (a multi-label task: its AUC)
    column = pd.Series([METRICS[task_metric(t, metric)] for t in chosen["task"]], index=chosen.index, dtype=object)
    value = pd.Series([chosen.at[i, c] for i, c in column.items()], index=chosen.index, dtype=float)
    ok = chosen.assign(value=100.0 * value)
    ok = ok[ok["status"].eq("ok") & ok["value"].notna() & ok["row"].isin(list(rows))]
    if ok.empty:
        return pd.DataFrame(columns=["row", "task", "fraction", "mean", "std", "n", "n_train"])
    grouped = ok.groupby(["row", "task", "fraction"])
    points = grouped.agg(mean=("value", "mean"), std=("value", lambda v: v.std(ddof=1)), n=("value", "size"),
                         n_train=("n_train", "median")).reset_index()
    return points


def plot_curves(points: pd.DataFrame, out_dir: str | os.PathLike, metric: str = "accuracy", title: str = "") -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if points.empty:
        raise ValueError("no successful probe result for the chosen rows: nothing to plot")
    found = set(points["task"])
    tasks = [t for t in TASKS if t in found] + sorted(found - set(TASKS))
    rows = order_rows(points["row"])
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.6 * len(tasks), 4.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        at = points[points["task"] == task]
        for i, row in enumerate(rows):
            line = at[at["row"] == row].sort_values("fraction")
            if line.empty:
                continue
            color, marker = STYLE.get(row, (f"C{i % 10}", "o"))
            x, mean, std = line["fraction"].to_numpy(), line["mean"].to_numpy(), line["std"].fillna(0).to_numpy()
            ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.18, lw=0)
            ax.plot(x, mean, marker=marker, color=color, lw=1.8, ms=5, label=row)
        fractions = sorted(at["fraction"].unique())
        n_train = at.groupby("fraction")["n_train"].median()
        ax.set_xscale("log")
        ax.set_xticks(fractions)
        ax.set_xticklabels([f"{format_fraction(f)}\n{_ecgs(n_train.get(f))}" for f in fractions])
        ax.minorticks_off()
        if len(fractions) > 1:
            lo, hi = min(fractions), max(fractions)
            ax.set_xlim(lo / 1.5, hi * 1.5)
        ax.set_xlabel("labelled training set (% of the training split; number of training ECGs)")
        ax.set_ylabel(f"{METRIC_LABELS[task_metric(task, metric)]} (%)")
        ax.set_title(task)
        ax.grid(alpha=0.3, lw=0.5)
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6), frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    if title:
        fig.text(0.5, 0.01, title, ha="center", va="bottom", fontsize=9)
    fig.tight_layout(rect=(0, 0.05 if title else 0, 1, 1 - 0.4 / fig.get_figheight()))
    if is_uri(out_dir):  # a sweep's figures folder in a bucket: drawn here, then copied there
        with tempfile.TemporaryDirectory() as local:
            drawn = _save(fig, Path(local))
            paths = [join(str(out_dir), p.name) for p in drawn]
            for path, target in zip(drawn, paths):
                store.put_file(path, target)
    else:
        paths = _save(fig, Path(out_dir))
    plt.close(fig)
    return paths


def _save(fig, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "curves.png", out_dir / "curves.svg"]
    fig.savefig(paths[0], dpi=130)
    fig.savefig(paths[1])
    return paths


def _ecgs(n) -> str:
    return "n = ?" if n is None or pd.isna(n) else f"n = {int(round(n)):,}"


def make_curves(sweep_paths=None, out_dir: str | os.PathLike = "figures", *, rows=DEFAULT_ROWS,
                metric: str = "accuracy", results_root: str | os.PathLike = DEFAULT_RESULTS_ROOT) -> list[Path]:
    """Writes curves.png and curves.svg for the sweep(s) (default: the latest); returns their paths."""
    if isinstance(sweep_paths, (str, os.PathLike)):
        sweep_paths = [sweep_paths]
    trials = load_sweeps(list(sweep_paths) if sweep_paths else None, results_root=results_root)
    points = curve_points(trials, metric=metric, rows=rows)
    absent = [r for r in rows if r not in set(points["row"])]
    note = f"mean ± 1 std over seeds; not in the sweep: {', '.join(absent)}" if absent else "mean ± 1 std over seeds"
    return plot_curves(points, out_dir, metric=metric, title=note)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="make_curves.py",
        description="Linear-probe test metric against the labelled training fraction (log axis), "
                    "mean ± one standard deviation over seeds, one panel per task.")
    p.add_argument("--sweep", action="append", metavar="PATH",
                   help=f"sweep directory (holds probe/); repeatable. Default: the latest under ./{DEFAULT_RESULTS_ROOT}")
    p.add_argument("--rows", default=",".join(DEFAULT_ROWS),
                   help=f"comma-separated rows to draw, those present (default: {','.join(DEFAULT_ROWS)})")
    p.add_argument("--metric", choices=sorted(METRICS), default="accuracy", help="default: accuracy")
    p.add_argument("--out", default="figures", metavar="DIR", help="output directory, a path or a URI such as the sweep's own <sweep>/figures (default ./figures)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    try:
        paths = make_curves(args.sweep, args.out, rows=rows, metric=args.metric)
    except (SweepError, ValueError) as exc:
        print(f"make_curves: {exc}", file=sys.stderr)
        return 1
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
