"""What the adversarial masker learned: its masks on ECGs with their QRS complexes shaded, and
how much of each mask's time falls inside QRS.

    python analysis/plot_masks.py --sweep results/demo          # first advmask encoder and the sweep's data
    python analysis/plot_masks.py --checkpoint <sweep>/encoders/<key> --cache .cache/.../downstream-<hash>
    python analysis/plot_masks.py --sweep results/masker --by-row --cache CACHE --name ludb --out docs

The QRS complexes come from the cache when its records carry them (the synthetic generator's,
or LUDB's cardiologists' annotations: `sweep/prepare.py ludb`), else from wfdb.processing's
XQRS detector on lead II with a fixed width (`ecgmask.data.qrs`); every figure and table
names which. Shares are taken where the annotations say what is QRS and what is not.

One checkpoint (default): masks.png (lead II red, masked signal x * (1 - m~) green, each
mask's masked time (m > threshold) blue, QRS grey; one column per mask, the lead-II mask
for N = 12) and mask_stats.csv (per mask: occupancy = mean raw mask, masked time, share of
the masked time in QRS, share of all QRS masked, QRS share of time).

`--by-row`: every adversarial row of a sweep (e.g. the `masker` space) on the same ECGs:
masks_<name>.png (one panel per row, its first seed) and mask_stats_<name>.csv/.md (per
row and mask, mean over seeds, with a 95% bootstrap interval over records for the shares).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sweep.store.layout import SweepLayout

LEAD_II = 1  # index of lead II in ecgmask.data.LEADS
BOOTSTRAP = 1000
MASK_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink")


# ---------------------------------------------------------------- QRS of a cache's windows


def qrs_source_words(cache, detected: float) -> str:
    """How the QRS of these windows was found, in words."""
    from ecgmask.data.qrs import DETECTOR_WORDS

    if detected >= 1.0:
        return DETECTOR_WORDS
    kinds = {s.get("type") for s in cache.meta.get("sources", [])}
    annotated = ("cardiologists' QRS (LUDB annotations, union over the 12 leads)" if kinds == {"ludb"}
                 else "the generator's QRS (annotations of the synthetic tree)" if kinds <= {"wfdb", "chapman"}
                 else "annotated QRS")
    if detected > 0:
        return f"{annotated}; {detected:.0%} of the ECGs by {DETECTOR_WORDS}"
    return annotated


def window_qrs(cache, idx: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """((B, L) QRS, (B, L) annotated, the source in words) for windows `idx` of `cache`
    whose signal is `x` (B, 12, L): the cache's track where it has one, else the detector's."""
    from ecgmask.pretrain.mask_stats import probe_qrs

    qrs, known, detected = probe_qrs(cache, np.asarray(idx), np.asarray(x))
    return qrs, known, qrs_source_words(cache, detected)


# ---------------------------------------------------------------- statistics


def window_counts(masks: np.ndarray, qrs: np.ndarray, known: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    """Per window (and mask) the sample counts the shares are sums of: raw (sum of m),
    masked (m > threshold), masked_known, both (masked and QRS), qrs, known, length."""
    masks = np.asarray(masks, dtype=np.float64)
    qrs = np.asarray(qrs, dtype=bool) & np.asarray(known, dtype=bool)
    known = np.asarray(known, dtype=bool)
    if masks.ndim != 3 or qrs.shape != (masks.shape[0], masks.shape[2]):
        raise ValueError(f"mask statistics want masks (B, N, L) and qrs (B, L), got {masks.shape} and {qrs.shape}")
    hard = masks > threshold
    return {
        "raw": masks.sum(axis=2),
        "masked": hard.sum(axis=2),
        "masked_known": (hard & known[:, None]).sum(axis=2),
        "both": (hard & qrs[:, None]).sum(axis=2),
        "qrs": qrs.sum(axis=1),
        "known": known.sum(axis=1),
        "length": np.full(masks.shape[0], masks.shape[2]),
    }


def _shares(c: dict[str, np.ndarray], rows=slice(None)) -> dict[str, np.ndarray]:
    """The per-mask shares of the counts of windows `rows` (arrays over masks)."""
    total = c["length"][rows].sum()
    masked_known = c["masked_known"][rows].sum(axis=0).astype(float)
    both = c["both"][rows].sum(axis=0).astype(float)
    qrs = float(c["qrs"][rows].sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "occupancy": c["raw"][rows].sum(axis=0) / total,
            "masked_time": c["masked"][rows].sum(axis=0) / total,
            "qrs_of_masked": np.where(masked_known > 0, both / masked_known, np.nan),
            "qrs_covered": both / qrs if qrs > 0 else np.full(both.shape, np.nan),
            "qrs_time": np.full(both.shape, qrs / max(float(c["known"][rows].sum()), 1.0)),
        }


def mask_statistics(masks: np.ndarray, qrs: np.ndarray, known: np.ndarray | None = None,
                    threshold: float = 0.5) -> pd.DataFrame:
    """One row per mask: occupancy, masked_time, qrs_of_masked (NaN when nothing is masked),
    qrs_covered, qrs_time (inside the annotated time), qrs_enrichment = qrs_of_masked / qrs_time."""
    known = np.ones(np.shape(qrs), dtype=bool) if known is None else known
    s = _shares(window_counts(masks, qrs, known, threshold))
    frame = pd.DataFrame({"mask": np.arange(len(s["occupancy"])), **s})
    frame["qrs_enrichment"] = frame["qrs_of_masked"] / frame["qrs_time"]
    return frame


def bootstrap_row(counts: list[dict[str, np.ndarray]], groups: np.ndarray, n_boot: int = BOOTSTRAP,
                  seed: int = 0) -> pd.DataFrame:
    """Per mask: the mean over seeds (one `window_counts` each, on the same windows) of every
    share, and a 95% percentile interval of the QRS shares from resampling records (`groups`:
    the record of each window) with replacement. A mask with no time in any seed: NaN."""
    groups = np.asarray(groups)
    codes, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(len(codes))]
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():  # all-NaN means and percentiles are NaN, as they should be
        warnings.simplefilter("ignore", RuntimeWarning)
        point = {k: np.nanmean([_shares(c)[k] for c in counts], axis=0) for k in _shares(counts[0])}
        boots = {"qrs_of_masked": [], "qrs_covered": []}
        for _ in range(n_boot):
            rows = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
            per_seed = [_shares(c, rows) for c in counts]
            for k in boots:
                boots[k].append(np.nanmean([s[k] for s in per_seed], axis=0))
        frame = pd.DataFrame({"mask": np.arange(len(point["occupancy"])), **point})
        for k, values in boots.items():
            values = np.asarray(values)
            frame[f"{k}_lo"] = np.nanpercentile(values, 2.5, axis=0)
            frame[f"{k}_hi"] = np.nanpercentile(values, 97.5, axis=0)
    frame["seeds"] = len(counts)
    frame["records"] = len(codes)
    return frame


def format_statistics(stats: pd.DataFrame, n_ecgs: int, source: str) -> str:
    lines = [f"Masks over {n_ecgs} ECGs (QRS: {source}):",
             f"{'mask':>4}  {'occupancy':>9}  {'masked time':>11}  {'masked time in QRS':>18}  "
             f"{'QRS masked':>10}  {'QRS time':>8}"]
    for s in stats.itertuples():
        share = "n/a" if np.isnan(s.qrs_of_masked) else f"{s.qrs_of_masked:.1%}"
        lines.append(f"{s.mask + 1:>4}  {s.occupancy:>9.1%}  {s.masked_time:>11.1%}  {share:>18}  "
                     f"{s.qrs_covered:>10.1%}  {s.qrs_time:>8.1%}")
    lines.append("A mask that seeks QRS has 'masked time in QRS' well above 'QRS time'; occupancy = mean raw mask.")
    return "\n".join(lines)


# ---------------------------------------------------------------- the masker


def load_advmask(checkpoint: str | os.PathLike, fs: float):
    """The AdvMask stage of a pretraining checkpoint (state.pt from Pretrainer.save_checkpoint), in eval mode.

    Rebuilt the way `ecgmask.pretrain.Pretrainer` builds it (`config.augmentation_options()`,
    so with its objective and threshold) without the encoder, optimisers or pretraining cache.
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


def _states(sweep) -> list[tuple[Path, dict]]:
    """(directory, config) of every published encoder of the sweep that has a masker."""
    import torch

    from ecgmask.pretrain import STATE_FILE

    root = Path(SweepLayout(str(sweep)).encoders)
    found = []
    for directory in sorted(p for p in root.glob("*") if (p / STATE_FILE).is_file()):
        state = torch.load(directory / STATE_FILE, map_location="cpu", weights_only=False)
        if "masker" in state:
            found.append((directory, state["config"]))
    return found


def find_advmask_checkpoint(sweep: str | os.PathLike) -> Path:
    """A published encoder of an advmask pretraining run of the sweep (`SweepLayout.encoders`):
    plain advmask rows first (the paper's mask figure), then compositions, by name."""
    found = [d for d, _ in _states(sweep)]
    if not found:
        raise FileNotFoundError(f"{SweepLayout(str(sweep)).encoders}: no advmask encoder (a directory with "
                                "state.pt holding a masker)")
    return sorted(found, key=lambda p: (not p.name.startswith("advmask-"), p.name))[0]


def advmask_checkpoints_by_row(sweep: str | os.PathLike) -> dict[str, list[Path]]:
    """{row: [encoder directories, by seed]} of the sweep's adversarial pretraining trials, rows
    in the plan's order."""
    rows: dict[str, list[tuple[int, Path]]] = {}
    for directory, config in _states(sweep):
        row = _row_of(sweep, directory.name) or config["augmentation"]
        rows.setdefault(row, []).append((int(config["seed"]), directory))
    order = _plan_rows(sweep)
    ordered = sorted(rows, key=lambda r: (order.index(r) if r in order else len(order), r))
    return {r: [d for _, d in sorted(rows[r])] for r in ordered}


def _plan(sweep) -> dict:
    try:
        return json.loads(Path(SweepLayout(str(sweep)).plan).read_text())
    except (OSError, ValueError):
        return {}


def _plan_rows(sweep) -> list[str]:
    return list(dict.fromkeys(t.get("row") for t in _plan(sweep).get("pretrain", []) if t.get("row")))


def _row_of(sweep, key: str) -> str | None:
    return next((t.get("row") for t in _plan(sweep).get("pretrain", []) if t.get("key") == key), None)


def downstream_cache_of(sweep: str | os.PathLike) -> Path:
    path = Path(SweepLayout(str(sweep)).plan)
    try:
        plan = json.loads(path.read_text())
        return Path(plan["data"]["downstream"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: cannot find the downstream cache (data.downstream): {exc}") from exc


# ---------------------------------------------------------------- the figures


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True."""
    padded = np.r_[False, flags, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2]))


def _shade(ax, t, flags, **kw) -> None:
    for start, end in _runs(flags):
        ax.axvspan(t[start], t[min(end, len(t) - 1)], lw=0, **kw)


def _strip(ax, t, flags, y0, y1, colour) -> None:
    """A band from y0 to y1 where `flags` is True (a mask's masked time under the trace)."""
    for start, end in _runs(flags):
        ax.fill_between(t[start:end + 1 if end < len(t) else end], y0, y1, color=colour, lw=0, alpha=0.8)


def _save(fig, out_path) -> Path:
    import matplotlib.pyplot as plt

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=130)
    plt.close(fig)
    return out_path


def plot_mask_figure(lead2, masks, qrs, known, fs: float, advmask, out_path, mask_columns=None,
                     title: str = "", source: str = "") -> Path:
    """lead2 (B, L) z-scored lead II; masks (B, N, L) raw; qrs, known (B, L). One row per ECG,
    one column per mask."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    b, n, length = masks.shape
    columns = list(range(n)) if mask_columns is None else list(mask_columns)
    t = np.arange(length) / fs
    fig, axes = plt.subplots(b, len(columns), figsize=(6.5 * len(columns), 2.3 * b + 1.0),
                             sharex=True, squeeze=False)
    import torch

    for i in range(b):
        q = qrs[i] & known[i]
        for j, m_idx in enumerate(columns):
            ax = axes[i, j]
            soft = advmask.binarize(torch.from_numpy(masks[i, m_idx]).float()).numpy()
            masked = masks[i, m_idx] > advmask.threshold
            _shade(ax, t, q, color="0.6", alpha=0.45)
            _shade(ax, t, ~known[i], color="khaki", alpha=0.35)
            _shade(ax, t, masked, color="tab:blue", alpha=0.2)
            ax.plot(t, lead2[i], color="red", lw=1.3)
            ax.plot(t, lead2[i] * (1.0 - soft), color="green", lw=0.8)
            share = (masked & q).sum() / (masked & known[i]).sum() if (masked & known[i]).any() else float("nan")
            ax.set_title(f"ECG {i + 1}, mask {m_idx + 1}: masks {masked.mean():.0%} of time, "
                         f"{'n/a' if np.isnan(share) else f'{share:.0%}'} of it QRS "
                         f"(QRS: {q.sum() / max(known[i].sum(), 1):.0%} of time)", fontsize=9)
            ax.grid(alpha=0.3, lw=0.5)
            if j == 0:
                ax.set_ylabel("lead II (z-score)")
            if i == b - 1:
                ax.set_xlabel("time (s)")
    handles = [plt.Line2D([], [], color="red", label="lead II"),
               plt.Line2D([], [], color="green", label="masked signal x(1 − m̃)"),
               Patch(color="tab:blue", alpha=0.2, label=f"masked (m > {advmask.threshold:g})"),
               Patch(color="0.6", alpha=0.45, label=f"QRS: {source}")]
    if not np.all(known):
        handles.append(Patch(color="khaki", alpha=0.35, label="not annotated"))
    _legend(fig, handles, title)
    return _save(fig, out_path)


def _legend(fig, handles, title: str) -> None:
    height = fig.get_figheight()
    ncol = min(len(handles), 3)
    lines = -(-len(handles) // ncol)
    if title:
        fig.suptitle(title, y=1.0 - 0.08 / height, va="top", fontsize=10)
    fig.legend(handles=handles, loc="upper center", ncol=ncol, frameon=False, fontsize=8.5,
               bbox_to_anchor=(0.5, 1.0 - (0.32 if title else 0.05) / height))
    fig.tight_layout(rect=(0, 0, 1, 1 - ((0.32 if title else 0.05) + 0.22 * lines + 0.05) / height))


def plot_rows_figure(lead2, row_masks: dict[str, np.ndarray], thresholds: dict[str, float], qrs, known,
                     fs: float, out_path, title: str = "", source: str = "") -> Path:
    """One panel per (ECG, row): lead II with QRS shaded grey and, under it, one strip per mask
    where that mask is past its threshold. row_masks: row -> (B, N, L)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = list(row_masks)
    b, length = qrs.shape
    t = np.arange(length) / fs
    fig, axes = plt.subplots(len(rows), b, figsize=(5.2 * b, 1.9 * len(rows) + 1.0), sharex=True, squeeze=False)
    n_max = max(m.shape[1] for m in row_masks.values())
    for r, row in enumerate(rows):
        masks = row_masks[row]
        for i in range(b):
            ax = axes[r, i]
            q = qrs[i] & known[i]
            _shade(ax, t, q, color="0.6", alpha=0.45)
            _shade(ax, t, ~known[i], color="khaki", alpha=0.35)
            y = lead2[i]
            lo, hi = float(np.min(y)), float(np.max(y))
            span = max(hi - lo, 1e-6)
            ax.plot(t, y, color="red", lw=1.0)
            for k in range(masks.shape[1]):
                masked = masks[i, k] > thresholds[row]
                y1 = lo - 0.08 * span - k * 0.16 * span
                _strip(ax, t, masked, y1 - 0.12 * span, y1, MASK_COLOURS[k % len(MASK_COLOURS)])
            ax.set_ylim(lo - 0.1 * span - n_max * 0.16 * span, hi + 0.05 * span)
            ax.set_yticks([])
            ax.grid(alpha=0.3, lw=0.5)
            shares = []
            for k in range(masks.shape[1]):
                masked = masks[i, k] > thresholds[row]
                mk = masked & known[i]
                shares.append(f"m{k + 1} {masked.mean():.0%}" + (f"/{(mk & q).sum() / mk.sum():.0%}QRS" if mk.any() else ""))
            ax.set_title(f"{row}, ECG {i + 1}: " + ", ".join(shares), fontsize=8)
            if i == b - 1 and r == len(rows) - 1:
                ax.set_xlabel("time (s)")
    handles = [plt.Line2D([], [], color="red", label="lead II"), Patch(color="0.6", alpha=0.45, label=f"QRS: {source}")]
    handles += [Patch(color=MASK_COLOURS[k % len(MASK_COLOURS)], label=f"mask {k + 1} past its threshold")
                for k in range(n_max)]
    if not np.all(known):
        handles.append(Patch(color="khaki", alpha=0.35, label="not annotated"))
    _legend(fig, handles, title)
    return _save(fig, out_path)


# ---------------------------------------------------------------- entry points


def _draw(cache, count: int, seed: int) -> np.ndarray:
    count = min(len(cache), count)
    if count == 0:
        raise ValueError(f"{cache.path}: the cache holds no ECG")
    return np.sort(np.random.default_rng(seed).choice(len(cache), size=count, replace=False))


def plot_masks(checkpoint: str | os.PathLike, cache_path: str | os.PathLike, out_dir: str | os.PathLike, *,
               n: int = 3, n_stats: int = 64, seed: int = 0) -> dict:
    """Mask figure (masks.png) and statistics (mask_stats.csv) of one advmask checkpoint over
    `n_stats` ECGs drawn (seeded) from the cache; the figure shows the first `n` of them.
    Returns {"figure", "stats_csv", "stats", "text", "source"}."""
    from ecgmask.data import EcgCache

    cache = EcgCache.open(cache_path)
    fs = float(cache.meta["fs"])
    advmask = load_advmask(checkpoint, fs)
    order = _draw(cache, max(n, n_stats), seed)
    x = cache.batch(order)
    masks = compute_masks(advmask, x)
    qrs, known, source = window_qrs(cache, order, x.numpy())
    stats = mask_statistics(masks, qrs, known, advmask.threshold)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats_csv = out_dir / "mask_stats.csv"
    stats.assign(qrs_source=source).to_csv(stats_csv, index=False)
    n_masks = masks.shape[1]
    columns = [LEAD_II] if n_masks == 12 else list(range(n_masks))
    figure = plot_mask_figure(
        x[:n, LEAD_II].numpy(), masks[:n], qrs[:n], known[:n], fs, advmask, out_dir / "masks.png",
        mask_columns=columns, source=source,
        title=f"Adversarial masks (N={n_masks}{', lead-II mask shown' if n_masks == 12 else ''}) of {Path(checkpoint).name}",
    )
    return {"figure": figure, "stats_csv": stats_csv, "stats": stats, "source": source,
            "text": format_statistics(stats, len(order), source)}


def plot_masks_by_row(sweeps, cache_path: str | os.PathLike, out_dir: str | os.PathLike, *,
                      name: str = "masks", n: int = 2, n_stats: int = 200, seed: int = 0) -> dict:
    """Every adversarial row of the sweep(s) on the same ECGs of the cache: masks_<name>.png
    (a row's first encoder, `n` ECGs) and mask_stats_<name>.csv/.md (all its seeds, over the
    sweeps, `n_stats` ECGs, bootstrap intervals over records)."""
    from ecgmask.data import EcgCache

    sweeps = [sweeps] if isinstance(sweeps, (str, os.PathLike)) else list(sweeps)
    cache = EcgCache.open(cache_path)
    fs = float(cache.meta["fs"])
    by_row: dict[str, list[Path]] = {}
    for sweep in sweeps:
        for row, directories in advmask_checkpoints_by_row(sweep).items():
            by_row.setdefault(row, []).extend(directories)
    if not by_row:
        raise FileNotFoundError(f"{', '.join(str(SweepLayout(str(s)).encoders) for s in sweeps)}: no advmask encoder")
    order = _draw(cache, max(n, n_stats), seed)
    x = cache.batch(order)
    qrs, known, source = window_qrs(cache, order, x.numpy())
    groups = cache.records["record"].to_numpy()[order]
    tables, first_masks, thresholds = [], {}, {}
    for row, directories in by_row.items():
        counts = []
        for d in directories:
            advmask = load_advmask(d, fs)
            masks = compute_masks(advmask, x)
            counts.append(window_counts(masks, qrs, known, advmask.threshold))
            if row not in first_masks:
                first_masks[row], thresholds[row] = masks[:n], advmask.threshold
        tables.append(bootstrap_row(counts, groups, seed=seed).assign(row=row))
    stats = pd.concat(tables, ignore_index=True)
    stats["qrs_source"] = source
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / f"mask_stats_{name}.csv"
    stats.to_csv(csv, index=False)
    md = out_dir / f"mask_stats_{name}.md"
    md.write_text(format_row_table(stats))
    figure = plot_rows_figure(x[:n, LEAD_II].numpy(), first_masks, thresholds, qrs[:n], known[:n], fs,
                              out_dir / f"masks_{name}.png", source=source,
                              title=f"Masks of each objective ({Path(str(sweeps[0])).name}, first seed) on "
                                    f"{name} ({Path(str(cache_path)).name})")
    return {"figure": figure, "stats_csv": csv, "stats_md": md, "stats": stats, "source": source}


def format_row_table(stats: pd.DataFrame) -> str:
    """Markdown: one line per (row, mask), shares in %, 95% bootstrap intervals over records."""
    def pct(v):
        return "n/a" if pd.isna(v) else f"{100 * v:.1f}"

    lines = [f"QRS: {stats['qrs_source'].iloc[0]}; {int(stats['records'].iloc[0])} records; "
             "mean over seeds [95% bootstrap interval over records].", "",
             "| row | seeds | mask | occupancy % | masked time % | masked time in QRS % | QRS masked % | QRS time % |",
             "|---|---|---|---|---|---|---|---|"]
    for s in stats.itertuples():
        lines.append(f"| {s.row} | {s.seeds} | {s.mask + 1} | {pct(s.occupancy)} | {pct(s.masked_time)} | "
                     f"{pct(s.qrs_of_masked)} [{pct(s.qrs_of_masked_lo)}, {pct(s.qrs_of_masked_hi)}] | "
                     f"{pct(s.qrs_covered)} [{pct(s.qrs_covered_lo)}, {pct(s.qrs_covered_hi)}] | {pct(s.qrs_time)} |")
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="plot_masks.py",
        description="Plot the masks of advmask pretraining checkpoints on ECGs with their QRS complexes "
                    "shaded (annotated where the cache has them, else XQRS on lead II) and measure how "
                    "much of each mask's time falls inside QRS.")
    p.add_argument("--checkpoint", metavar="DIR", help="pretraining checkpoint directory (state.pt + encoder.pt)")
    p.add_argument("--cache", metavar="DIR", help="cache directory (EcgCache) [the sweep's downstream cache]")
    p.add_argument("--sweep", metavar="PATH", action="append",
                   help="take the sweep's first advmask encoder (or, with --by-row, all of them, over "
                        "every --sweep given) and, without --cache, the downstream cache of its plan")
    p.add_argument("--by-row", action="store_true",
                   help="every adversarial row of --sweep on the same ECGs: masks_NAME.png, mask_stats_NAME.csv/.md")
    p.add_argument("--name", default="masks", help="with --by-row: the output files' suffix (default masks)")
    p.add_argument("--n", type=int, default=None, help="ECGs in the figure (default 3; 2 with --by-row)")
    p.add_argument("--n-stats", type=int, default=None,
                   help="ECGs the statistics run over (default 64; 200 with --by-row)")
    p.add_argument("--seed", type=int, default=0, help="which ECGs are drawn, and the bootstrap (default 0)")
    p.add_argument("--out", default="figures", metavar="DIR", help="output directory (default ./figures)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    n = args.n if args.n is not None else (2 if args.by_row else 3)
    n_stats = args.n_stats if args.n_stats is not None else (200 if args.by_row else 64)
    if n < 1 or n_stats < 1:
        print("plot_masks: --n and --n-stats must be at least 1", file=sys.stderr)
        return 2
    try:
        if args.by_row:
            if args.sweep is None:
                print("plot_masks: --by-row needs --sweep", file=sys.stderr)
                return 2
            cache = args.cache or downstream_cache_of(args.sweep[0])
            result = plot_masks_by_row(args.sweep, cache, args.out, name=args.name, n=n, n_stats=n_stats,
                                       seed=args.seed)
            print(result["stats_md"].read_text())
            print(f"wrote {result['figure']}, {result['stats_csv']} and {result['stats_md']}")
            return 0
        checkpoint, cache = args.checkpoint, args.cache
        if checkpoint is None or cache is None:
            if args.sweep is None:
                print("plot_masks: give --checkpoint and --cache, or --sweep", file=sys.stderr)
                return 2
            checkpoint = checkpoint or find_advmask_checkpoint(args.sweep[0])
            cache = cache or downstream_cache_of(args.sweep[0])
        result = plot_masks(checkpoint, cache, args.out, n=n, n_stats=n_stats, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"plot_masks: {exc}", file=sys.stderr)
        return 1
    print(result["text"])
    print(f"wrote {result['figure']} and {result['stats_csv']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
