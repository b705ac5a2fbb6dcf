"""The two credential-free pretraining corpora side by side: a synthetic and a DeepFake ECG.

    python analysis/plot_corpora.py --out docs/corpora.png

Left: records of the synthetic heart-dipole corpus (`ecgmask.data.corpora.synthetic`, the default
study's pretraining seed); right: DeepFake ECGs from deepfake-ecg's Pulse2Pulse generator
(`ecgmask.data.corpora.deepfake`, needs the `deepfake` extra). Both are written as WFDB files to a
temporary folder and read back with `read_wfdb_record`, so the picture shows what the
ingest sees; the DeepFake records store only I, II, V1-V6, and their III is the reader's
derived lead (III = II - I). Each panel shows 10 s of leads I, II, III, V1, V3, V5 at
25 mm/s and 10 mm/mV on ECG paper (small squares 0.04 s x 0.1 mV).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from analysis.plot_synthetic import ecg_paper, save_figure

LEADS_SHOWN = ("I", "II", "III", "V1", "V3", "V5")
ROW_MV = 2.5  # vertical distance between the leads of a panel


def draw_leads(ax, signal: np.ndarray, fs: float, derived: bool, title: str, seconds: float = 10.0) -> None:
    """Leads LEADS_SHOWN of a 12-lead (12, N) mV record, one row each, on ECG paper."""
    from ecgmask.data.leads import DERIVED_LEADS, LEADS

    cal = 0.4  # s of room for the calibration pulse
    n = int(round(seconds * fs))
    for r, name in enumerate(LEADS_SHOWN):
        y0 = -r * ROW_MV
        ax.plot([0, 0.08, 0.08, 0.28, 0.28, 0.36], np.array([0, 0, 1, 1, 0, 0]) + y0, color="k", lw=0.8)
        x = signal[LEADS.index(name), :n]
        ax.plot(cal + np.arange(len(x)) / fs, x + y0, color="k", lw=0.6)
        label = f"{name} (derived)" if derived and name in DERIVED_LEADS else name
        ax.text(cal + 0.05, y0 + 0.6, label, fontsize=8, va="bottom")
    ax.set_xlim(0, cal + seconds)
    ax.set_ylim(-(len(LEADS_SHOWN) - 1) * ROW_MV - 1.4, 1.6)
    ecg_paper(ax, title)


def plot_corpora(out: Path, synthetic_seed: int = 1, deepfake_seed: int = 0, per_corpus: int = 2,
                 dpi: int = 90) -> Path:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.plot_synthetic import pick_records
    from ecgmask.data.corpora.deepfake import write_deepfake_tree
    from ecgmask.data.corpora.synthetic import write_record
    from ecgmask.data.wfdb_reader import read_wfdb_record

    picked = pick_records(synthetic_seed, per_class=1)
    synthetic = [picked[c][0] for c in ("SR", "AFIB", "SB", "GSVT")[:per_corpus]]
    fig, axes = plt.subplots(per_corpus, 2, figsize=(2 * 10.6, 6.4 * per_corpus), squeeze=False)
    with tempfile.TemporaryDirectory() as tmp:
        for r, p in enumerate(synthetic):
            rec = read_wfdb_record(write_record(Path(tmp), p, fs=500))
            title = f"synthetic {p.name} (seed {synthetic_seed}): {p.rhythm}, {p.sex} {p.age}, ~{p.heart_rate:.0f} bpm"
            draw_leads(axes[r, 0], rec.signal, rec.fs, rec.derived_leads, title)
        tree = write_deepfake_tree(Path(tmp) / "deepfake", per_corpus, deepfake_seed, progress=False)
        for r, hea in enumerate(sorted(tree.glob("g1/*.hea"))):
            rec = read_wfdb_record(hea)
            title = f"DeepFake {rec.name} (seed {deepfake_seed}): Pulse2Pulse, 8 leads stored, age/sex unknown"
            draw_leads(axes[r, 1], rec.signal, rec.fs, rec.derived_leads, title)
    fig.suptitle("Pretraining corpora without credentials: synthetic heart dipole (left), DeepFake "
                 "Pulse2Pulse (right); 25 mm/s, 10 mm/mV", fontsize=12)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return save_figure(fig, out, dpi)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("docs/corpora.png"), help="PNG to write")
    ap.add_argument("--synthetic-seed", type=int, default=1, help="synthetic corpus seed (1: the default study's)")
    ap.add_argument("--deepfake-seed", type=int, default=0, help="DeepFake noise seed")
    ap.add_argument("--per-corpus", type=int, default=2, choices=(1, 2, 3, 4), help="records of each corpus")
    ap.add_argument("--dpi", type=int, default=90)
    args = ap.parse_args(argv)
    print(plot_corpora(args.out, synthetic_seed=args.synthetic_seed, deepfake_seed=args.deepfake_seed,
                       per_corpus=args.per_corpus, dpi=args.dpi))  # fmt: skip


if __name__ == "__main__":
    main()
