"""The paper's Table 1 from stored sweep results.

    python analysis/make_table1.py                      # latest sweep under ./results
    python analysis/make_table1.py --sweep results/demo --paper --out table1/
    python analysis/make_table1.py --metric auc --fractions 1,0.1,0.01

Prints Markdown (the table, its notes, and the paired comparison of advmask with every
other row); `--out DIR` also writes table1.md, table1.tex (booktabs), table1.csv and
table1_paired.csv. `sweep/run.py` calls `render_table1(...)` at the end of `make demo`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import pandas as pd

from analysis import table1 as t1
from analysis.results import (DEFAULT_RESULTS_ROOT, METRICS, SweepError, find_latest_sweep, load_pretrain_epochs,
                              load_sweeps, probe_dir)
from sweep.store import provenance
from sweep.store import files as store
from sweep.store.layout import SweepLayout, is_uri, split


def build(sweep_paths=None, *, metric="accuracy", paper=False, fractions=None, baseline="advmask",
          results_root=DEFAULT_RESULTS_ROOT, paper_csv=t1.PAPER_TABLE):
    """(trials, Table1, paired comparison) for the given sweeps (default: the latest one)."""
    if isinstance(sweep_paths, (str, os.PathLike)):
        sweep_paths = [sweep_paths]
    sweep_paths = list(sweep_paths) if sweep_paths else [find_latest_sweep(results_root)]
    trials = load_sweeps(sweep_paths, results_root=results_root)
    table = t1.build_table1(trials, metric=metric, fractions=fractions)
    pretrain = pd.concat([load_pretrain_epochs(p) for p in sweep_paths], ignore_index=True)
    table.conditions = t1.condition_notes(trials, table.rows, sweep_settings(sweep_paths), pretrain)
    if paper:
        t1.attach_paper(table, t1.load_paper_table(paper_csv))
    comparison = t1.paired_comparison(trials, table, baseline=baseline) if baseline in table.rows else None
    table.mask_notes = t1.mask_notes(_mask_statistics(sweep_paths, trials), rows=table.rows)
    return trials, table, comparison


def _mask_statistics(sweep_paths, trials):
    """The final mask statistics of the adversarial pretraining trials of the sweeps read
    (None when none has any, or a sweep has no pretraining experiment)."""
    import pandas as pd

    from analysis.mask_stats import final_mask_statistics

    frames = []
    for sweep in sorted({str(s) for s in trials["sweep"].dropna()}) if "sweep" in trials else []:
        try:
            frames.append(final_mask_statistics(sweep_root(sweep)))
        except (SweepError, OSError, ValueError):
            continue
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else None


def render_table1(sweep_paths=None, *, metric: str = "accuracy", paper: bool = False, fractions=None,
                  baseline: str = "advmask", out_dir: str | os.PathLike | None = None,
                  results_root: str | os.PathLike = DEFAULT_RESULTS_ROOT) -> str:
    """Table 1 of the sweep(s) as Markdown (table, notes, paired comparison); writes files to `out_dir`.

    `sweep_paths`: sweep directories (each holding `probe/`) or probe experiment directories;
    None or empty reads the latest sweep under `results_root`.
    """
    _, table, comparison = build(sweep_paths, metric=metric, paper=paper, fractions=fractions,
                                 baseline=baseline, results_root=results_root)
    markdown = t1.format_markdown(table, comparison, baseline=baseline)
    if comparison is None:
        markdown += f"\nNo paired comparison: no `{baseline}` row in the sweep.\n"
    markdown += "\n" + provenance_footer(sweep_paths or [find_latest_sweep(results_root)])
    if out_dir is not None:
        write_outputs(Path(out_dir), table, comparison, baseline, markdown)
    return markdown


def sweep_settings(sweep_paths) -> dict[str, list]:
    """The profile values in force in the sweeps (plan.json `in_force.set`): field -> the
    distinct values, in the order met. A sweep without that record adds nothing."""
    settings: dict[str, list] = {}
    for root in dict.fromkeys(sweep_root(p) for p in sweep_paths):
        try:
            plan = store.read_json(SweepLayout(root).plan) or {}
        except (OSError, ValueError):
            continue
        in_force = plan.get("in_force") or {}
        for key, value in (in_force.get("set") or {}).items():
            values = settings.setdefault(key, [])
            if value not in values:
                values.append(value)
    return settings


def sweep_root(path: str | os.PathLike) -> Path | str:
    """The sweep directory of a path given as --sweep (the sweep itself or its probe
    experiment): a Path, or the URI of a sweep stored under one."""
    root = split(probe_dir(path))[0]
    return root if is_uri(root) else Path(root)


def provenance_footer(sweep_paths) -> str:
    """Under the table: each sweep's code commit and library versions, from its plan.json."""
    if isinstance(sweep_paths, (str, os.PathLike)):
        sweep_paths = [sweep_paths]
    lines = ["Provenance (plan.json):"]
    for path in sweep_paths:
        root = sweep_root(path)
        try:
            record = (store.read_json(SweepLayout(root).plan) or {}).get(provenance.KEY)
        except (OSError, ValueError):
            record = None
        lines.append(f"- {split(root)[1]}: {provenance.footer(record)}")
    return "\n".join(lines) + "\n"


def write_outputs(out_dir: Path, table, comparison, baseline: str, markdown: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "table1.md": markdown,
        "table1.tex": t1.format_latex(table, comparison, baseline=baseline),
        "table1.csv": t1.format_csv(table),
    }
    if comparison is not None:
        files["table1_paired.csv"] = t1.format_comparison_csv(comparison, baseline)
    paths = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _fractions(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--fractions wants numbers like 1,0.1,0.01, got {text!r}") from None
    if not values or any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"--fractions must lie in (0, 1], got {text!r}")
    return values


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="make_table1.py",
        description="Table 1 (linear-probe metric per pretraining augmentation, task and training "
                    "fraction; mean ± std over seeds) from the probe results a sweep stored, read "
                    "through Ray Tune's result API.")
    p.add_argument("--sweep", action="append", metavar="PATH",
                   help="a sweep directory printed by sweep/run.py (holds probe/), or its probe/ "
                        "directory; repeat to combine sweeps (a later one wins on duplicates). "
                        f"Default: the latest sweep under ./{DEFAULT_RESULTS_ROOT}")
    p.add_argument("--metric", choices=sorted(METRICS), default="accuracy",
                   help="test_accuracy, test_balanced_accuracy or test_auc (default: accuracy); a task whose "
                        "headline metric in ecgmask/tasks.py is not accuracy (superdiagnostic: AUC) always shows "
                        "its own, named in its column header")
    p.add_argument("--fractions", type=_fractions, metavar="F,F,...",
                   help="training fractions to show as columns, e.g. 1,0.1,0.01 (default: every fraction in the sweep)")
    p.add_argument("--paper", action="store_true",
                   help="put the paper's value (mean ± std) and ours minus paper beside each cell (accuracy only)")
    p.add_argument("--baseline", default="advmask",
                   help="row compared, paired by seed, with every other row (default: advmask)")
    p.add_argument("--out", metavar="DIR", help="also write table1.md, table1.tex, table1.csv, table1_paired.csv here")
    return p


def _running(sweeps) -> str | None:
    """`sweep still running (driver pid N on host H)` for the first given (or latest) sweep a driver holds."""
    from sweep.store.lock import running_driver

    try:
        paths = sweeps or [find_latest_sweep(DEFAULT_RESULTS_ROOT)]
        # a sweep directory, or its probe/ experiment
        return next(filter(None, (running_driver(str(p)) or running_driver(str(Path(p).parent)) for p in paths)), None)
    except (SweepError, OSError):
        return None


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.paper and args.metric != "accuracy":
        print(f"make_table1: --paper needs --metric accuracy: the paper's Table 1 reports test accuracy, "
              f"not {args.metric}", file=sys.stderr)
        return 2
    running = _running(args.sweep)
    if running:  # its unfinished trials have no result files yet: Ray's warnings about them say nothing new
        print(f"make_table1: {running}; the table shows the trials finished so far", file=sys.stderr)
        logging.getLogger("ray.tune.analysis").setLevel(logging.ERROR)
    try:
        markdown = render_table1(args.sweep, metric=args.metric, paper=args.paper, fractions=args.fractions,
                                 baseline=args.baseline, out_dir=args.out)
    except (SweepError, ValueError) as exc:
        print(f"make_table1: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(markdown)
    if args.out:
        print(f"\nwrote {Path(args.out) / 'table1.md'}, table1.tex, table1.csv, table1_paired.csv", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
