"""Table 1 as pure functions: aggregate tidy probe results, compare paired by seed, format.

Input is the tidy trial frame of `analysis.results` (one row per probe trial). Nothing here
reads a sweep or touches Ray, so every function is tested on small hand-made frames too.

Columns are (task, fraction), tasks in the registry's order (ecgmask/tasks.py: arrhythmia,
sex, then any other task in the results). A task whose headline metric is test accuracy
shows the table's metric (--metric); any other task shows its own headline metric, named in
its header: the multi-label superdiagnostic task shows "superdiagnostic (AUC)".
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.results import METRIC_LABELS, METRICS, PAPER_ROWS, TABLE_ROWS
from ecgmask.tasks import TASKS as TASK_REGISTRY

PAPER_TABLE = Path(__file__).with_name("paper_table1.csv")
DASH = "—"
DECIMALS = 1  # cells are shown, and the best of a column is chosen, at this precision
# how a column header names a metric that is not the table's own
METRIC_SHORT = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "auc": "AUC"}


@dataclass(frozen=True)
class Column:
    task: str
    fraction: float
    # the metric (a METRICS name) when the column shows another one than the table's, else None
    metric: str | None = None

    @property
    def heading(self) -> str:
        """The task, with the metric when it is not the table's: `superdiagnostic (AUC)`."""
        return f"{self.task} ({METRIC_SHORT[self.metric]})" if self.metric else self.task

    @property
    def label(self) -> str:
        return f"{self.heading} {format_fraction(self.fraction)}"


def task_metric(task: str, metric: str) -> str:
    """The metric (a METRICS name) the columns of `task` show in a table of `metric`: `metric`
    when the task's headline metric (ecgmask/tasks.py) is test accuracy, or the task is not in
    the registry; the task's headline metric otherwise (superdiagnostic: auc)."""
    entry = TASK_REGISTRY.get(task)
    if entry is None or entry.metric == METRICS["accuracy"]:
        return metric
    for name, key in METRICS.items():
        if key == entry.metric:
            return name
    raise ValueError(f"task {task!r}: its headline metric {entry.metric!r} (ecgmask/tasks.py) is not one of "
                     f"the result keys Table 1 knows, {sorted(METRICS.values())}")


def format_fraction(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _key(fraction: float) -> float:
    # configs hold 0.1 exactly, but a float that went through a file may not
    return round(float(fraction), 9)


# ---------------------------------------------------------------- selection and layout


def select_trials(trials: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One trial per (row, task, fraction, seed): an `ok` one if there is one, else the last.

    Several sweeps may hold the same cell and seed: the later one in `trials` (the later
    --sweep) wins, and the note says so. Returns (trials, notes).
    """
    trials = trials.copy()
    trials["fraction"] = trials["fraction"].map(_key)
    trials["_order"] = np.arange(len(trials))
    trials["_ok"] = trials["status"].eq("ok")
    keys = ["row", "task", "fraction", "seed"]
    notes = []
    for key, group in trials.groupby(keys, sort=False):
        ok = group[group["_ok"]]
        if len(ok) > 1:
            row, task, fraction, seed = key
            used = ok.sort_values("_order").iloc[-1]
            notes.append(
                f"{row} / {task} {format_fraction(fraction)} seed {seed}: {len(ok)} results "
                f"(trials {', '.join(ok['trial_id'])}); used {used['trial_id']} from {used['sweep']}"
            )
    chosen = trials.sort_values(["_ok", "_order"]).groupby(keys, sort=False).tail(1)
    return chosen.sort_values("_order").drop(columns=["_order", "_ok"]).reset_index(drop=True), notes


def order_rows(labels) -> list[str]:
    """The paper's rows in its order, then `random`, then any other label (sorted)."""
    labels = set(labels)
    known = [r for r in TABLE_ROWS if r in labels]
    return known + sorted(labels - set(TABLE_ROWS))


def order_columns(trials: pd.DataFrame, fractions=None, tasks=None, metric: str = "accuracy") -> list[Column]:
    """Task-major columns: the registry's tasks in its order (arrhythmia, sex, ...), then any
    other task; fractions from large to small. A column whose task shows another metric than
    `metric` (`task_metric`) carries it."""
    found_tasks = set(trials["task"])
    if tasks is None:
        known = list(TASK_REGISTRY)
        tasks = [t for t in known if t in found_tasks] + sorted(found_tasks - set(known))
    if fractions is None:
        fractions = sorted({_key(f) for f in trials["fraction"]}, reverse=True)
    else:
        fractions = sorted({_key(f) for f in fractions}, reverse=True)
    shown = {t: task_metric(t, metric) for t in tasks}
    return [Column(t, f, None if shown[t] == metric else shown[t]) for t in tasks for f in fractions]


# ---------------------------------------------------------------- aggregation


@dataclass
class Table1:
    metric: str
    rows: list[str]
    columns: list[Column]
    cells: pd.DataFrame  # row, task, fraction, mean, std, n, n_seeds, seeds, missing_seeds, best
    seeds: list[int]  # the full set of seeds of the sweep(s)
    failures: pd.DataFrame  # trials not `ok` inside the table: row, task, fraction, seed, status, error
    notes: list[str] = field(default_factory=list)
    paper: pd.DataFrame | None = None  # augmentation, task, fraction, mean, std (accuracy, %)
    conditions: list[str] = field(default_factory=list)  # what the cells condition on (`condition_notes`)
    mask_notes: list[str] = field(default_factory=list)  # `mask_notes(...)`: what each advmask row's masks cover

    def metric_of(self, column: Column) -> str:
        """The metric (a METRICS name) of a column's cells."""
        return column.metric or self.metric

    def cell(self, row: str, column: Column) -> pd.Series:
        c = self.cells
        hit = c[(c["row"] == row) & (c["task"] == column.task) & (c["fraction"] == _key(column.fraction))]
        return hit.iloc[0]

    @property
    def missing_cells(self) -> list[tuple[str, Column]]:
        return [(r, col) for r in self.rows for col in self.columns if self.cell(r, col)["n"] == 0]


def metric_column(metric: str) -> str:
    try:
        return METRICS[metric]
    except KeyError:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(METRICS)}") from None


def build_table1(trials: pd.DataFrame, metric: str = "accuracy", fractions=None, rows=None, tasks=None) -> Table1:
    """Mean and standard deviation (ddof=1) over seeds of `metric` in %, per row and column
    (a task whose headline metric is not accuracy shows that one: `task_metric`).

    Only `ok` trials are averaged. The full seed count is the number of distinct seeds over
    all trials (failed ones included), so a cell with fewer is flagged.
    """
    metric_column(metric)
    trials, notes = select_trials(trials)
    columns = order_columns(trials, fractions=fractions, tasks=tasks, metric=metric)
    keep = {(c.task, c.fraction) for c in columns}
    in_table = trials[[(t, f) in keep for t, f in zip(trials["task"], trials["fraction"])]]
    rows = order_rows(in_table["row"]) if rows is None else list(rows)
    in_table = in_table[in_table["row"].isin(rows)]
    seeds = sorted({int(s) for s in trials["seed"]})
    records = []
    for row in rows:
        for col in columns:
            column = METRICS[col.metric or metric]
            group = in_table[(in_table["row"] == row) & (in_table["task"] == col.task) & (in_table["fraction"] == col.fraction)]
            ok = group[group["status"].eq("ok") & group[column].notna()]
            values = 100.0 * ok[column].to_numpy(dtype=float)
            n = len(values)
            records.append({
                "row": row,
                "task": col.task,
                "fraction": col.fraction,
                "mean": float(np.mean(values)) if n else float("nan"),
                "std": float(np.std(values, ddof=1)) if n > 1 else float("nan"),
                "n": n,
                "n_seeds": len(seeds),
                "seeds": tuple(sorted(int(s) for s in ok["seed"])),
                "missing_seeds": tuple(s for s in seeds if s not in set(group["seed"])),
            })
    cells = pd.DataFrame.from_records(records)
    cells["best"] = False
    for col in columns:
        sel = (cells["task"] == col.task) & (cells["fraction"] == col.fraction) & (cells["n"] > 0)
        if sel.any():
            shown = cells.loc[sel, "mean"].round(DECIMALS)
            cells.loc[shown.index[shown == shown.max()], "best"] = True
    bad = in_table[~in_table["status"].eq("ok")]
    shown = pd.Series([METRICS[task_metric(t, metric)] for t in in_table["task"]], index=in_table.index, dtype=object)
    reported = pd.Series([pd.notna(in_table.at[i, key]) for i, key in shown.items()], index=in_table.index, dtype=bool)
    no_metric = in_table[in_table["status"].eq("ok") & ~reported]
    if len(no_metric):
        no_metric = no_metric.assign(status="failed", error=[f"reported no {shown[i]}" for i in no_metric.index])
        bad = pd.concat([bad, no_metric])
    failures = bad[["row", "task", "fraction", "seed", "status", "error", "trial_id", "sweep"]].copy()
    failures["_r"] = failures["row"].map({r: i for i, r in enumerate(rows)})
    failures["_c"] = [next(i for i, c in enumerate(columns) if (c.task, c.fraction) == (t, f))
                      for t, f in zip(failures["task"], failures["fraction"])]
    failures = failures.sort_values(["_r", "_c", "seed"]).drop(columns=["_r", "_c"]).reset_index(drop=True)
    return Table1(metric=metric, rows=rows, columns=columns, cells=cells, seeds=seeds, failures=failures, notes=notes)


def load_paper_table(path: str | os.PathLike = PAPER_TABLE) -> pd.DataFrame:
    """The paper's Table 1 (test accuracy, %): columns augmentation, task, fraction, mean, std."""
    path = Path(path)
    try:
        paper = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as exc:
        raise ValueError(f"{path}: cannot read the paper's table: {exc}") from exc
    needed = {"augmentation", "task", "fraction", "mean", "std"}
    if not needed <= set(paper.columns):
        raise ValueError(f"{path}: the paper's table needs columns {sorted(needed)}, has {list(paper.columns)}")
    paper["fraction"] = paper["fraction"].map(_key)
    return paper


def attach_paper(table: Table1, paper: pd.DataFrame) -> Table1:
    """Adds paper_mean, paper_std and diff (ours minus paper, percentage points) to the cells."""
    if table.metric != "accuracy":
        raise ValueError(f"the paper's Table 1 reports test accuracy; cannot compare it with {table.metric}")
    merged = table.cells.merge(
        paper.rename(columns={"augmentation": "row", "mean": "paper_mean", "std": "paper_std"})[
            ["row", "task", "fraction", "paper_mean", "paper_std"]],
        on=["row", "task", "fraction"], how="left",
    )
    merged["diff"] = merged["mean"] - merged["paper_mean"]
    table.cells = merged
    table.paper = paper
    return table


# ---------------------------------------------------------------- paired comparison


def paired_t_test(diffs, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, low, high, p) of paired differences: Student's t interval and two-sided p-value
    against 0 with n-1 df (`scipy.stats.ttest_1samp`); NaN interval and p for n < 2. Identical
    differences have a zero-width interval, p 0 (or 1 when they are all 0)."""
    d = np.asarray(diffs, dtype=float)
    n = d.size
    if n == 0:
        return float("nan"), float("nan"), float("nan"), float("nan")
    mean = float(d.mean())
    if n < 2:
        return mean, float("nan"), float("nan"), float("nan")
    if np.all(d == d[0]):  # no spread: scipy would warn and give NaN for all zeros
        return mean, mean, mean, 0.0 if mean != 0 else 1.0
    result = stats.ttest_1samp(d, 0.0)
    interval = result.confidence_interval(confidence)
    return mean, float(interval.low), float(interval.high), float(result.pvalue)


def paired_t_ci(diffs, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of paired differences (`paired_t_test` without the p-value)."""
    return paired_t_test(diffs, confidence)[:3]


def holm_adjust(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values over the family of the finite ones (NaN stays NaN):
    the k-th smallest of m is multiplied by m - k + 1, made non-decreasing, capped at 1. An
    adjusted p below alpha rejects at family-wise error rate alpha."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    scaled = np.minimum(1.0, p[order] * (m - np.arange(m)))
    out[order] = np.maximum.accumulate(scaled)
    return out


def paired_comparison(trials: pd.DataFrame, table: Table1, baseline: str = "advmask", confidence: float = 0.95) -> pd.DataFrame:
    """baseline minus every other row of `table`, per column, paired by seed (percentage points).

    Only seeds where both rows have an `ok` result enter. Columns: row, task, fraction, n,
    seeds, mean_diff, ci_low, ci_high (unadjusted t interval), p_value (paired t-test) and
    p_holm (Holm-adjusted over the family: every comparison of the table with two pairs or more).
    """
    metric_column(table.metric)
    chosen, _ = select_trials(trials)
    ok_trials = chosen[chosen["status"].eq("ok")]
    records = []
    for row in table.rows:
        if row == baseline:
            continue
        for col in table.columns:
            column = METRICS[table.metric_of(col)]
            ok = ok_trials[ok_trials[column].notna()]
            at = ok[(ok["task"] == col.task) & (ok["fraction"] == col.fraction)]
            ours = at[at["row"] == baseline].set_index("seed")[column]
            theirs = at[at["row"] == row].set_index("seed")[column]
            common = sorted(set(ours.index) & set(theirs.index))
            diffs = 100.0 * (ours.loc[common].to_numpy(float) - theirs.loc[common].to_numpy(float))
            mean, low, high, p = paired_t_test(diffs, confidence)
            records.append({"row": row, "task": col.task, "fraction": col.fraction, "n": len(common),
                            "seeds": tuple(common), "mean_diff": mean, "ci_low": low, "ci_high": high, "p_value": p})
    columns = ["row", "task", "fraction", "n", "seeds", "mean_diff", "ci_low", "ci_high", "p_value", "p_holm"]
    out = pd.DataFrame.from_records(records, columns=columns[:-1])
    out["p_holm"] = holm_adjust(out["p_value"].to_numpy(float)) if len(out) else []
    return out[columns]


def family_size(comparison: pd.DataFrame) -> int:
    """The comparisons Holm's correction runs over: those with a p-value (two pairs or more)."""
    return int(comparison["p_value"].notna().sum()) if "p_value" in comparison else 0


# ---------------------------------------------------------------- what the cells condition on

# probe modes by budget: the linear head's (linear, random) and end-to-end training's (scratch, finetune)
PROBE_BUDGETS = (("linear head", ("linear", "random"), "probe"), ("end to end", ("scratch", "finetune"), "scratch"))


def _one(settings: dict, key: str):
    """A setting's value when every sweep had the same one; None when absent or they differ."""
    values = settings.get(key, [])
    return values[0] if len(values) == 1 else None


def _span(values) -> str:
    lo, hi = int(min(values)), int(max(values))
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def spread_note(trials: pd.DataFrame, settings: dict) -> str:
    """What the ± over seeds holds fixed: one patient split (so one validation and one test set
    per task) and, unless `split_seed_per_seed` was on, one labelled subset for every seed.
    `settings`: profile field -> the distinct values of the sweeps read (`condition_notes`)."""
    ok = trials[trials["status"].eq("ok")]
    sizes = ok.groupby("task", sort=False)["n_test"].max() if "n_test" in ok else pd.Series(dtype=float)
    order = {t: i for i, t in enumerate(TASK_REGISTRY)}  # registry order, as the columns
    tests = ", ".join(f"{task} {int(sizes[task])}" for task in sorted(sizes.index, key=lambda t: (order.get(t, len(order)), t))
                      if pd.notna(sizes[task]))
    test_set = f"one test set per task ({tests} windows)" if tests else "one test set per task"
    per_seed = settings.get("split_seed_per_seed", [False])
    if len(per_seed) > 1:
        return (f"± over seeds: one patient split and {test_set}; the sweeps combined differ in "
                "profile.split_seed_per_seed, so some cells share one labelled subset across seeds and some do not.")
    if per_seed[0]:
        return (f"± over seeds: each seed draws its own labelled subset (profile.split_seed_per_seed=true), "
                f"so it holds the subset-to-subset spread, besides pretraining and the probe's initialisation and "
                f"batch order; one patient split and {test_set}, so not the test sample's spread.")
    return (f"± over seeds: one patient split, {test_set}, and one labelled subset per fraction shared by every "
            f"seed (split seed 0): it is the spread of pretraining and of the probe's initialisation and batch "
            f"order, not of which patients are labelled (set profile.split_seed_per_seed=true for that) nor of "
            f"the test sample.")


def epochs_note(pretrain: pd.DataFrame | None, rows, settings: dict) -> str:
    """Pretraining epochs actually run per row (early stopping), min–max over seeds.
    `pretrain`: one line per finished pretraining trial with `row`, `seed`, `epochs_run`."""
    limit, patience = _one(settings, "epochs"), _one(settings, "patience")
    rule = "early stopping on the training NT-Xent" + (f", patience {patience}" if patience else "") + (
        f", at most {limit}" if limit else "")
    if pretrain is None or pretrain.empty:
        return f"Pretraining epochs run ({rule}): no finished pretraining trial in the sweep."
    runs = pretrain.dropna(subset=["epochs_run"])
    if "status" in runs:  # a trial that did not finish has not run its epochs
        runs = runs[runs["status"].eq("TERMINATED")]
    parts, absent = [], []
    for row in rows:
        values = runs.loc[runs["row"] == row, "epochs_run"]
        if len(values):
            parts.append(f"{row} {_span(values)}")
        else:
            absent.append(row)
    text = f"Pretraining epochs run ({rule}; min–max over seeds): " + ", ".join(parts)
    if absent:
        text += f"; no finished pretraining: {', '.join(absent)}"
    return text + "."


def probe_steps_note(trials: pd.DataFrame, settings: dict) -> str | None:
    """Optimiser steps the probes ran (early stopping on validation), per budget and fraction:
    median and min–max over the table's `ok` trials."""
    if "steps_run" not in trials or "mode" not in trials:
        return None
    ok = trials[trials["status"].eq("ok") & trials["steps_run"].notna()]
    parts = []
    for name, modes, prefix in PROBE_BUDGETS:
        runs = ok[ok["mode"].isin(modes)]
        if runs.empty:
            continue
        budget = [f"{v} {k}" for k, v in (("steps", _one(settings, f"{prefix}_steps")),
                                           ("between validations", _one(settings, f"{prefix}_eval_every")),
                                           ("validations' patience", _one(settings, f"{prefix}_patience"))) if v]
        by_fraction = []
        for fraction in sorted({_key(f) for f in runs["fraction"]}, reverse=True):
            steps = runs.loc[runs["fraction"].map(_key) == fraction, "steps_run"]
            by_fraction.append(f"{format_fraction(fraction)} {int(np.median(steps))} [{_span(steps)}]")
        parts.append(f"{name}{' (budget ' + ', '.join(budget) + ')' if budget else ''}: " + ", ".join(by_fraction))
    if not parts:
        return None
    return ("Probe optimiser steps run (early stopping on validation; median [min–max] over trials, by labelled "
            "fraction): " + "; ".join(parts) + ".")


def condition_notes(trials: pd.DataFrame, rows, settings: dict, pretrain: pd.DataFrame | None = None) -> list[str]:
    """The notes that say what the cells condition on: the ± (`spread_note`), the pretraining
    epochs run per row (`epochs_note`) and the probes' steps (`probe_steps_note`). `settings`
    maps a profile field to the distinct values of the sweeps read (plan.json `in_force.set`)."""
    chosen, _ = select_trials(trials)
    lines = [spread_note(chosen, settings), epochs_note(pretrain, rows, settings)]
    steps = probe_steps_note(chosen, settings)
    return lines + ([steps] if steps else [])


# ---------------------------------------------------------------- text of cells and notes


def _num(x: float, signed: bool = False) -> str:
    text = f"{x:+.{DECIMALS}f}" if signed else f"{x:.{DECIMALS}f}"
    return text.replace("-", "−")


def cell_text(cell: pd.Series, pm: str = " ± ") -> str:
    """`mean ± std`, `(n=k)` when not every seed has a result, a dash when none has."""
    if cell["n"] == 0:
        return DASH
    text = _num(cell["mean"]) if cell["n"] < 2 else f"{_num(cell['mean'])}{pm}{_num(cell['std'])}"
    if cell["n"] < cell["n_seeds"]:
        text += f" (n={cell['n']})"
    return text


def paper_text(cell: pd.Series, pm: str = " ± ") -> str:
    if "paper_mean" not in cell or pd.isna(cell["paper_mean"]):
        return ""
    text = f"paper {cell['paper_mean']:.2f}{pm}{cell['paper_std']:.2f}"
    if cell["n"] > 0:
        text += f"; Δ {_num(cell['diff'], signed=True)}"
    return f"[{text}]"


def table_notes(table: Table1) -> list[str]:
    """What the reader must know to trust the table, one line each (plain text, no markup)."""
    n_seeds = len(table.seeds)
    lines = [
        f"Cells: mean ± standard deviation (ddof=1) of the {METRIC_LABELS[table.metric]} in % over "
        f"{n_seeds} seed{'s' if n_seeds != 1 else ''} ({', '.join(map(str, table.seeds))}); "
        f"(n=k): only k seeds have a result. Bold: best of its column (at {DECIMALS} decimal)."
    ]
    lines += table.conditions
    missing = table.missing_cells
    if missing:
        lines.append(f"{len(missing)} cell{'s' if len(missing) != 1 else ''} without any result ({DASH}): "
                     + ", ".join(f"{r} / {c.label}" for r, c in missing) + ".")
    failed = table.failures[table.failures["status"].eq("failed")]
    if len(failed):
        lines.append(f"{len(failed)} failed trial{'s' if len(failed) != 1 else ''}, not averaged in:")
        lines += [f"  - {f.row} / {f.task} {format_fraction(f.fraction)} / seed {f.seed}: {f.error}" for f in failed.itertuples()]
    unfinished = table.failures[table.failures["status"].eq("unfinished")]
    if len(unfinished):
        lines.append(f"{len(unfinished)} unfinished trial{'s' if len(unfinished) != 1 else ''}, not averaged in:")
        lines += [f"  - {f.row} / {f.task} {format_fraction(f.fraction)} / seed {f.seed}: {f.error}" for f in unfinished.itertuples()]
    no_trial = table.cells[table.cells["missing_seeds"].map(len) > 0]
    if len(no_trial):
        lines.append("Seeds never run (no trial in the sweep):")
        lines += [f"  - {c.row} / {c.task} {format_fraction(c.fraction)}: seed{'s' if len(c.missing_seeds) > 1 else ''} "
                  f"{', '.join(map(str, c.missing_seeds))}" for c in no_trial.itertuples()]
    for task, name in dict.fromkeys((c.task, c.metric) for c in table.columns if c.metric):
        kind = "; a multi-label task, so the AUC is the macro mean over its classes" if _multilabel(task) else ""
        lines.append(f"{task} ({METRIC_SHORT[name]}) columns: the {METRIC_LABELS[name]} in %, "
                     f"the task's headline metric (ecgmask/tasks.py{kind}).")
    absent = [r for r in PAPER_ROWS if r not in table.rows]
    if absent:
        lines.append(f"Rows of the paper not in this sweep: {', '.join(absent)}.")
    if table.paper is not None:
        lines.append("[paper m ± s; Δ d]: Bo et al., ML4H 2022, Table 1 (test accuracy, %); "
                     "Δ = ours minus paper, percentage points. The paper's scratch row came, in its "
                     "reference code, from a probe on random features (our `random` row).")
    if table.notes:
        lines.append("Duplicate results (the later sweep wins):")
        lines += [f"  - {n}" for n in table.notes]
    lines += table.mask_notes
    return lines


def mask_notes(stats: pd.DataFrame, rows=None) -> list[str]:
    """What the masks of each adversarial row cover at the end of pretraining, in words (mean
    over seeds of `analysis.mask_stats.final_mask_statistics`), e.g. `advmask: mask 1 covers
    92% of time, 17% of it QRS; mask 2 covers 8% of time, 18% of it QRS (QRS is 17% of time)`.
    Masks are numbered from 1; the QRS source (annotated or detected) is named."""
    from ecgmask.data.qrs import DETECTOR_WORDS

    if stats is None or stats.empty:
        return []
    order = [r for r in (rows or []) if r in set(stats["row"])]
    order += sorted(set(stats["row"]) - set(order))
    lines = ["Masks at the end of pretraining (mean over seeds, on a fixed probe of 64 validation windows of the "
             "pretraining cache; 'covers': time where the mask is past the binarisation threshold; QRS from the "
             "cache's annotations, the generator's or cardiologists', unless a row names the detector):"]
    for row in order:
        group = stats[stats["row"] == row]
        n_masks = sum(1 for c in group.columns if c.startswith("mask_") and c.endswith("_time"))
        parts = []
        for k in range(n_masks):
            time = group[f"mask_{k}_time"].mean()
            of_masked = group[f"mask_{k}_qrs_of_masked"].mean()  # NaN-skipping: seeds where the mask covers time
            share = "" if pd.isna(of_masked) or time < 0.005 else f", {100 * of_masked:.0f}% of it QRS"
            parts.append(f"mask {k + 1} covers {_percent(time)} of time{share}")
        qrs = group["qrs_time"].mean()
        detected = group["qrs_detected"].mean() if "qrs_detected" in group else 0.0
        source = f"; QRS by {DETECTOR_WORDS}" if detected > 0 else ""
        seeds = f"{len(group)} seed{'s' if len(group) != 1 else ''}"
        lines.append(f"  - {row} ({seeds}): " + "; ".join(parts) + f" (QRS is {100 * qrs:.0f}% of time{source})")
    return lines


def _percent(share: float) -> str:
    """92% ; under 1% with one decimal (0.3%), so that a vanishing mask is not read as none."""
    return f"{100 * share:.0f}%" if share >= 0.01 or share == 0 else f"{100 * share:.1f}%"


def _multilabel(task: str) -> bool:
    entry = TASK_REGISTRY.get(task)
    return bool(entry and entry.multilabel)


def comparison_caption(baseline: str, metric: str, confidence: float = 0.95, *, columns=(), comparison=None) -> str:
    others = "".join(f" {h} columns: the {METRIC_LABELS[m]} instead."
                     for h, m in dict.fromkeys((c.heading, c.metric) for c in columns if c.metric))
    text = (f"Paired comparison: {baseline} minus each row, {METRIC_LABELS[metric]} in percentage points;{others} "
            f"mean of the per-seed differences (pairs share a seed, only seeds where both rows have a result) "
            f"with an unadjusted {confidence:.0%} confidence interval from the paired t distribution "
            f"(scipy.stats.ttest_1samp, n−1 degrees of freedom). ")
    if comparison is not None:
        text += family_text(comparison, confidence) + " "
    return text + "(n=k): k pairs; with one pair there is no interval."


def family_text(comparison: pd.DataFrame, confidence: float = 0.95) -> str:
    """What the stars control: Holm over the family, its size, and how many unadjusted
    intervals exclude 0 (about 5% of the family would by chance alone)."""
    m = family_size(comparison)
    alpha = 1 - confidence
    tested = comparison[comparison["p_value"].notna()]
    unadjusted = int(((tested["ci_low"] > 0) | (tested["ci_high"] < 0)).sum())
    held = int((tested["p_holm"] < alpha).sum())
    return (f"* Holm-adjusted p < {alpha:g} (paired t-test): the family-wise error rate is held at {alpha:g} "
            f"over the family of all {m} comparisons of this table with two pairs or more; {held} pass. "
            f"{unadjusted} of the {m} unadjusted intervals exclude 0 (about {alpha * m:.1f} would by chance alone).")


def comparison_text(c, star: str = "*", alpha: float = 0.05) -> str:
    """`+d [low, high]* (n=k)`; the star marks a Holm-adjusted p below `alpha` (without a
    `p_holm`, an interval that excludes 0)."""
    if c.n == 0:
        return DASH
    if c.n < 2:
        return f"{_num(c.mean_diff, signed=True)} (n=1, no CI)"
    p_holm = getattr(c, "p_holm", None)
    marked = p_holm < alpha if p_holm is not None and pd.notna(p_holm) else (c.ci_low > 0 or c.ci_high < 0)
    return (f"{_num(c.mean_diff, signed=True)} [{_num(c.ci_low, signed=True)}, {_num(c.ci_high, signed=True)}]"
            f"{star if marked else ''} (n={c.n})")


# ---------------------------------------------------------------- Markdown


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def format_markdown(table: Table1, comparison: pd.DataFrame | None = None, baseline: str = "advmask") -> str:
    head = ["row"] + [c.label for c in table.columns]
    out = [f"**Table 1.** Linear-probe {METRIC_LABELS[table.metric]} (%) by pretraining augmentation.", "",
           "| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|"]
    for row in table.rows:
        texts = []
        for col in table.columns:
            cell = table.cell(row, col)
            text = _md_escape(cell_text(cell))
            if cell["best"]:
                text = f"**{text}**"
            extra = paper_text(cell)
            texts.append(f"{text} {extra}" if extra else text)
        out.append(f"| {_md_escape(row)} | " + " | ".join(texts) + " |")
    out.append("")
    out += [ln if ln.startswith("  - ") else f"- {ln}" for ln in table_notes(table)]
    if comparison is not None:
        out += ["", _comparison_markdown(table, comparison, baseline)]
    return "\n".join(out) + "\n"


def _comparison_markdown(table: Table1, comparison: pd.DataFrame, baseline: str) -> str:
    if comparison.empty:
        return f"No paired comparison: the table has no `{baseline}` row or no other row."
    out = [f"**Paired comparison, {_md_escape(baseline)} minus row.**", "",
           "| row | " + " | ".join(c.label for c in table.columns) + " |",
           "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|"]
    for row in comparison["row"].drop_duplicates():
        part = comparison[comparison["row"] == row]
        texts = []
        for col in table.columns:
            c = part[(part["task"] == col.task) & (part["fraction"] == col.fraction)].iloc[0]
            texts.append(_md_escape(comparison_text(c, star="\u2217")).replace("\u2217", "\\*"))
        out.append(f"| {_md_escape(row)} | " + " | ".join(texts) + " |")
    out += ["", comparison_caption(baseline, table.metric, columns=table.columns, comparison=comparison).replace("*", "\\*")]
    return "\n".join(out)


# ---------------------------------------------------------------- LaTeX (booktabs)


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("$", r"\$"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}")):
        text = text.replace(a, b)
    for a, b in (("±", r"$\pm$"), ("−", "$-$"), ("Δ", r"$\Delta$"), (DASH, "--"), ("≥", r"$\geq$"), ("<", "$<$"),
                 ("–", "--")):
        text = text.replace(a, b)
    return text


def _heading(table: Table1, heading: str) -> str:
    text = _tex(heading[:1].upper() + heading[1:])
    # the Styler centres a heading over two or more columns; one over a single column likewise
    return rf"\multicolumn{{1}}{{c}}{{{text}}}" if sum(c.heading == heading for c in table.columns) == 1 else text


def _cmidrules(table: Table1) -> str:
    r"""`\cmidrule` under each heading (booktabs; the Styler writes none)."""
    spans, start = [], 2
    for heading in dict.fromkeys(c.heading for c in table.columns):
        width = sum(1 for c in table.columns if c.heading == heading)
        spans.append(rf"\cmidrule(lr){{{start}-{start + width - 1}}}")
        start += width
    return " ".join(spans)


def _styled_table(table: Table1, rows: dict[str, list[str]], caption: str, notes: list[str] = ()) -> str:
    """One booktabs table through pandas' Styler.to_latex: `rows` maps a row's label to its
    cells' LaTeX (already escaped), in the order of table.columns."""
    columns = pd.MultiIndex.from_tuples([(_heading(table, c.heading), _tex(format_fraction(c.fraction))) for c in table.columns],
                                        names=[None, "Augmentation"])
    frame = pd.DataFrame(list(rows.values()), index=[_tex(r) for r in rows], columns=columns)
    styler = frame.style.set_table_styles([{"selector": "small", "props": ":;"}])  # \small inside the table
    tex = styler.to_latex(environment="table", position="t", position_float="centering", hrules=True, multicol_align="c",
                          caption=caption, column_format="l" + "r" * len(table.columns))
    lines = tex.rstrip("\n").splitlines()
    top = lines.index(r"\toprule")
    lines.insert(top + 2, _cmidrules(table))  # under the headings' line
    if notes:
        lines[-1:-1] = [r"\par\smallskip\footnotesize", *notes]
    return "\n".join(lines)


def format_latex(table: Table1, comparison: pd.DataFrame | None = None, baseline: str = "advmask") -> str:
    rows = {}
    for row in table.rows:
        texts = []
        for col in table.columns:
            cell = table.cell(row, col)
            text = _tex(cell_text(cell))
            if cell["best"]:
                text = rf"\textbf{{{text}}}"
            extra = paper_text(cell)
            if extra:
                text += r" {\footnotesize " + _tex(extra) + "}"
            texts.append(text)
        rows[row] = texts
    out = [r"% generated by analysis/make_table1.py (pandas Styler.to_latex); needs \usepackage{booktabs}",
           _styled_table(table, rows, rf"Linear-probe {_tex(METRIC_LABELS[table.metric])} (\%) by pretraining augmentation.",
                         [_tex(ln.strip()) + r"\\" for ln in table_notes(table)])]
    if comparison is not None and not comparison.empty:
        rows = {}
        for row in comparison["row"].drop_duplicates():
            part = comparison[comparison["row"] == row]
            rows[row] = [_tex(comparison_text(part[(part["task"] == c.task) & (part["fraction"] == c.fraction)].iloc[0]))
                         for c in table.columns]
        out += ["", _styled_table(table, rows, _tex(comparison_caption(baseline, table.metric, columns=table.columns, comparison=comparison)))]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- CSV


def format_csv(table: Table1) -> str:
    """Tidy: one line per cell, numbers unrounded, in %."""
    cells = table.cells.copy()
    cells.insert(3, "metric", [METRICS[task_metric(t, table.metric)] for t in cells["task"]])
    cells["seeds"] = cells["seeds"].map(lambda s: " ".join(map(str, s)))
    cells["missing_seeds"] = cells["missing_seeds"].map(lambda s: " ".join(map(str, s)))
    buf = io.StringIO()
    cells.to_csv(buf, index=False)
    return buf.getvalue()


def format_comparison_csv(comparison: pd.DataFrame, baseline: str) -> str:
    out = comparison.copy()
    out.insert(0, "baseline", baseline)
    out["seeds"] = out["seeds"].map(lambda s: " ".join(map(str, s)))
    buf = io.StringIO()
    out.to_csv(buf, index=False)
    return buf.getvalue()
