"""One self-contained HTML page of a whole sweep, to read in a browser or send to a colleague.

    python analysis/make_report.py                          # latest sweep under ./results
    python analysis/make_report.py --sweep results/demo --out report.html

Sections: Table 1 and the paired comparison with their notes, the dataset-size curves, the
pretraining loss, the adversarial masks and their statistics (when the sweep has an advmask
encoder), the failed trials with their errors, the settings in force, and the provenance
(plan.json). Every figure is embedded as a base64 PNG, so the one file is the whole report.
Each part comes from the functions of analysis/ that make it on its own (make_table1,
make_curves, plot_pretrain_loss, plot_masks); a part that cannot be made says why in place.
Writes `<sweep>/report.html` unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import json
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from analysis import table1 as t1
from analysis.make_curves import curve_points, plot_curves
from analysis.make_table1 import build, provenance_footer, sweep_root
from analysis.plot_masks import downstream_cache_of, find_advmask_checkpoint, plot_masks
from analysis.plot_pretrain_loss import plot_pretrain_loss, pretrain_history
from analysis.results import DEFAULT_RESULTS_ROOT, METRICS, SweepError, _trial_error, find_latest_sweep
from sweep.store import provenance
from sweep.store.layout import PRETRAIN, SweepLayout

REPORT_FILE = "report.html"
# (id, heading) of every section, in page order; the test finds each by its id
SECTIONS = (
    ("table1", "Table 1"),
    ("paired", "Paired comparison"),
    ("curves", "Dataset-size curves"),
    ("pretrain-loss", "Pretraining loss"),
    ("masks", "Adversarial masks"),
    ("failures", "Failed trials"),
    ("settings", "Settings in force"),
    ("provenance", "Provenance"),
)
# what a part that cannot be made raises (a missing experiment, an absent encoder, no result yet)
UNAVAILABLE = (SweepError, ValueError, FileNotFoundError, KeyError, OSError)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
td.text { text-align: left; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .85em; }
.paper { color: #777; font-size: .85em; } .notes { font-size: .9em; } .absent { color: #a33; }
img { max-width: 100%; border: 1px solid #eee; }
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def png_tag(path: str | os.PathLike, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def absent(reason: str) -> str:
    return f'<p class="absent">Not available: {esc(reason)}</p>'


def notes_html(lines) -> str:
    """table1.table_notes lines ('  - ' marks a sub-item) as nested lists."""
    out, open_sub = ['<ul class="notes">'], False
    for line in lines:
        if line.startswith("  - "):
            if not open_sub:
                out.append("<ul>")
                open_sub = True
            out.append(f"<li>{esc(line[4:])}</li>")
        else:
            if open_sub:
                out.append("</ul>")
                open_sub = False
            out.append(f"<li>{esc(line)}</li>")
    if open_sub:
        out.append("</ul>")
    return "\n".join(out + ["</ul>"])


def table1_html(table: t1.Table1) -> str:
    head = "".join(f"<th>{esc(c.label)}</th>" for c in table.columns)
    rows = []
    for row in table.rows:
        cells = []
        for col in table.columns:
            cell = table.cell(row, col)
            text = esc(t1.cell_text(cell))
            if cell["best"]:
                text = f"<b>{text}</b>"
            extra = t1.paper_text(cell)
            if extra:
                text += f'<br><span class="paper">{esc(extra)}</span>'
            cells.append(f"<td>{text}</td>")
        rows.append(f"<tr><td>{esc(row)}</td>{''.join(cells)}</tr>")
    caption = f"Linear-probe {t1.METRIC_LABELS[table.metric]} (%) by pretraining augmentation."
    return (f"<p>{esc(caption)}</p><table><tr><th>row</th>{head}</tr>\n" + "\n".join(rows) + "</table>\n"
            + notes_html(t1.table_notes(table)))


def paired_html(table: t1.Table1, comparison: pd.DataFrame | None, baseline: str) -> str:
    if comparison is None or comparison.empty:
        return absent(f"no `{baseline}` row, or no other row, in the sweep")
    head = "".join(f"<th>{esc(c.label)}</th>" for c in table.columns)
    rows = []
    for row in comparison["row"].drop_duplicates():
        part = comparison[comparison["row"] == row]
        texts = [t1.comparison_text(part[(part["task"] == c.task) & (part["fraction"] == c.fraction)].iloc[0])
                 for c in table.columns]
        rows.append(f"<tr><td>{esc(row)}</td>" + "".join(f"<td>{esc(t)}</td>" for t in texts) + "</tr>")
    caption = t1.comparison_caption(baseline, table.metric, columns=table.columns, comparison=comparison)
    return (f"<p>{esc(baseline)} minus row.</p><table><tr><th>row</th>{head}</tr>\n" + "\n".join(rows)
            + f"</table>\n<p class=\"notes\">{esc(caption)}</p>")


def frame_html(frame: pd.DataFrame, text_columns=()) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = "".join(f'<td{" class=text" if c in text_columns else ""}>{esc(v)}</td>'
                        for c, v in zip(frame.columns, record))
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "</table>"


def mapping_html(mapping: dict) -> str:
    """A flat key/value table; nested values as compact JSON."""
    rows = []
    for key, value in mapping.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        rows.append(f'<tr><td>{esc(key)}</td><td class="text">{esc(text)}</td></tr>')
    return "<table>" + "\n".join(rows) + "</table>"


def pretrain_failures(sweep: Path) -> pd.DataFrame:
    """Pretraining trials that did not finish cleanly: key, status, error (read through Tune)."""
    from ray.tune import ExperimentAnalysis

    path = Path(SweepLayout(str(sweep)).experiment(PRETRAIN)).resolve()
    if not path.is_dir():
        return pd.DataFrame(columns=["trial", "status", "error"])
    analysis = ExperimentAnalysis(str(path))
    records = [{"trial": Path(str(trial.path)).name if trial.path else trial.trial_id,
                "status": trial.status.lower(), "error": _trial_error(trial)}
               for trial in analysis.trials if trial.status != "TERMINATED"]
    return pd.DataFrame.from_records(records, columns=["trial", "status", "error"])


def failures_html(sweep: Path, trials: pd.DataFrame) -> str:
    parts = []
    try:
        pre = pretrain_failures(sweep)
        parts.append("<h3>Pretraining</h3>" + (frame_html(pre, ("error",)) if len(pre) else "<p>None: every pretraining trial finished.</p>"))
    except UNAVAILABLE as exc:
        parts.append("<h3>Pretraining</h3>" + absent(str(exc)))
    bad = trials[~trials["status"].eq("ok")]
    columns = ["row", "task", "fraction", "seed", "status", "error", "trial_id"]
    parts.append("<h3>Probes</h3>" + (frame_html(bad[columns], ("error",)) if len(bad) else
                                      f"<p>None: all {len(trials)} probe trials reported their metrics.</p>"))
    return "\n".join(parts)


def masks_html(sweep: Path, work: Path) -> str:
    checkpoint = find_advmask_checkpoint(sweep)
    result = plot_masks(checkpoint, downstream_cache_of(sweep), work / "masks")
    stats = result["stats"].copy()
    for column in ("occupancy", "masked_time", "qrs_of_masked", "qrs_covered", "qrs_time"):
        stats[column] = stats[column].map(lambda v: "n/a" if pd.isna(v) else f"{v:.1%}")
    stats["qrs_enrichment"] = stats["qrs_enrichment"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2f}")
    caption = result["text"].splitlines()
    return (png_tag(result["figure"], "adversarial masks") + f"<p>{esc(caption[0])}</p>" + frame_html(stats)
            + f'<p class="notes">{esc(caption[-1])} qrs_of_masked = share of the masked time in QRS; '
              f"qrs_covered = share of all QRS time masked; qrs_enrichment = qrs_of_masked / qrs_time. "
              f"QRS: {esc(result['source'])}. Encoder: {esc(checkpoint.name)}.</p>")


def settings_html(plan: dict) -> str:
    parts = []
    for key, title in (("in_force", "In force (compared on --resume)"), ("resources", "Resources"), ("data", "Data")):
        value = plan.get(key)
        if value:
            parts.append(f"<h3>{esc(title)}</h3>" + (mapping_html(value) if isinstance(value, dict) else
                                                       f'<p class="text">{esc(json.dumps(value, default=str))}</p>'))
    return "\n".join(parts) or absent("plan.json records no settings")


def section(sid: str, heading: str, body: str) -> str:
    return f'<section id="{sid}">\n<h2>{esc(heading)}</h2>\n{body}\n</section>'


def render_report(sweep: str | os.PathLike, *, metric: str = "accuracy", paper: bool = False,
                  baseline: str = "advmask") -> str:
    """The report of one sweep (its directory or its probe experiment) as one HTML string."""
    sweep = sweep_root(sweep)
    trials, table, comparison = build([sweep], metric=metric, paper=paper, baseline=baseline)
    plan_path = Path(SweepLayout(str(sweep)).plan)
    try:
        plan = json.loads(plan_path.read_text())
    except (OSError, ValueError) as exc:
        plan = {}
        plan_error = f"{plan_path}: {exc}"
    else:
        plan_error = None
    bodies = {}
    with tempfile.TemporaryDirectory(prefix="ecgmask-report-") as tmp:
        work = Path(tmp)
        bodies["table1"] = table1_html(table)
        bodies["paired"] = paired_html(table, comparison, baseline)
        for sid, make in (
            ("curves", lambda: png_tag(plot_curves(curve_points(trials, metric=metric, rows=table.rows),
                                                   work / "curves", metric=metric)[0], "dataset-size curves")
             + '<p class="notes">Mean ± 1 standard deviation over seeds; failed trials left out, as in Table 1.</p>'),
            ("pretrain-loss", lambda: png_tag(plot_pretrain_loss(pretrain_history(sweep), work / "loss"), "pretraining loss")),
            ("masks", lambda: masks_html(sweep, work)),
            ("failures", lambda: failures_html(sweep, trials)),
        ):
            try:
                bodies[sid] = make()
            except UNAVAILABLE as exc:
                bodies[sid] = absent(str(exc))
    bodies["settings"] = settings_html(plan) if plan else absent(plan_error)
    record = plan.get(provenance.KEY)
    bodies["provenance"] = (f"<p>{esc(provenance_footer([sweep]).splitlines()[-1][2:])}</p>"
                            + (mapping_html(record) if record else ""))
    title = f"Sweep {sweep.name}"
    described = f"the space: {plan['description']}" if plan.get("description") else ""
    summary = (f"space {plan.get('space', '?')}, profile {plan.get('profile', '?')}; {len(trials)} probe trials, "
               f"{int(trials['status'].eq('ok').sum())} with results; metric {METRICS[metric]}")
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    toc = " · ".join(f'<a href="#{sid}">{esc(h)}</a>' for sid, h in SECTIONS)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{esc(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(summary)}<br>{esc(described)}<br>{esc(sweep)} · written {generated} by analysis/make_report.py</p>",
        f"<nav>{toc}</nav>",
        *(section(sid, heading, bodies[sid]) for sid, heading in SECTIONS),
        "</body></html>",
    ]) + "\n"


def write_report(sweep: str | os.PathLike, out: str | os.PathLike | None = None, **options) -> Path:
    """Writes the report (default `<sweep>/report.html`) and returns its path."""
    text = render_report(sweep, **options)
    path = Path(out) if out else sweep_root(sweep) / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="make_report.py",
        description="One self-contained HTML report of a sweep: Table 1, the paired comparison, the "
                    "dataset-size curves, the pretraining loss, the masks, the failed trials, the "
                    "settings and the provenance.")
    p.add_argument("--sweep", metavar="PATH",
                   help=f"the sweep directory sweep/run.py printed (default: the latest under ./{DEFAULT_RESULTS_ROOT})")
    p.add_argument("--out", metavar="FILE", help=f"where to write the page (default: <sweep>/{REPORT_FILE})")
    p.add_argument("--metric", choices=sorted(METRICS), default="accuracy", help="Table 1's metric (default: accuracy)")
    p.add_argument("--paper", action="store_true", help="the paper's values beside each cell (accuracy only)")
    p.add_argument("--baseline", default="advmask", help="row of the paired comparison (default: advmask)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.paper and args.metric != "accuracy":
        print(f"make_report: --paper needs --metric accuracy (the paper reports test accuracy, not {args.metric})", file=sys.stderr)
        return 2
    try:
        sweep = args.sweep or find_latest_sweep(DEFAULT_RESULTS_ROOT)
        path = write_report(sweep, args.out, metric=args.metric, paper=args.paper, baseline=args.baseline)
    except (SweepError, ValueError) as exc:
        print(f"make_report: {exc}", file=sys.stderr)
        return 1
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
