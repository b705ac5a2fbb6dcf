"""Plot synthetic records as paper-style 12-lead ECGs (three records of each rhythm class).

    python analysis/plot_synthetic.py --out docs/synthetic_records.png

The records are the first three of each class in the corpus with `--seed` (the default
study's pretraining seed), written as WFDB files to a temporary folder and read back with
`wfdb.rdrecord`, so the picture shows exactly what the readers ingest. Each record is drawn
in the standard layout (I/aVR/V1/V4, II/aVL/V2/V5, III/aVF/V3/V6, 2.5 s each, and a 10 s
lead II rhythm strip) at 25 mm/s and 10 mm/mV on ECG paper: small squares 0.04 s x 0.1 mV,
large squares 0.2 s x 0.5 mV, with a 1 mV calibration pulse.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
ROW_MV = 3.0  # vertical distance between the rows of a record
CLASSES = ("SR", "SB", "GSVT", "AFIB")


def pick_records(seed: int, per_class: int = 3, classes=CLASSES):
    """The first `per_class` records of each class in the corpus with `seed`."""
    from ecgmask.data.corpora.synthetic import sample_params

    picked = {c: [] for c in classes}
    number = 0
    while any(len(v) < per_class for v in picked.values()):
        number += 1
        p = sample_params(seed, number)
        if p.rhythm in picked and len(picked[p.rhythm]) < per_class:
            picked[p.rhythm].append(p)
    return picked


def draw_ecg(ax, signal: np.ndarray, fs: float, leads: list[str], title: str) -> None:
    """One 12-lead record (12, N) in mV on ECG paper on `ax`."""
    index = {name.upper(): i for i, name in enumerate(leads)}
    seg = int(round(2.5 * fs))
    cal = 0.4  # s of room for the calibration pulse
    rows = [*LAYOUT, ("II",)]
    for r, names in enumerate(rows):
        y0 = -r * ROW_MV
        ax.plot([0, 0.08, 0.08, 0.28, 0.28, 0.36], np.array([0, 0, 1, 1, 0, 0]) + y0, color="k", lw=0.8)
        for c, name in enumerate(names):
            x = signal[index[name.upper()]]
            if len(names) == 1:
                part, t0 = x, 0.0
            else:
                part, t0 = x[c * seg : (c + 1) * seg], c * 2.5
            t = cal + t0 + np.arange(len(part)) / fs
            ax.plot(t, part + y0, color="k", lw=0.6)
            ax.text(cal + t0 + 0.05, y0 + 0.55, name, fontsize=7, va="bottom")
            if c > 0:
                ax.plot([cal + t0] * 2, [y0 - 0.3, y0 + 0.3], color="k", lw=0.6)
    ax.set_xlim(0, cal + 10.0)
    ax.set_ylim(-(len(rows) - 1) * ROW_MV - 1.6, 1.9)
    ecg_paper(ax, title)


def ecg_paper(ax, title: str) -> None:
    """ECG paper on `ax`: small squares 0.04 s x 0.1 mV, large 0.2 s x 0.5 mV, 25 mm/s, 10 mm/mV."""
    from matplotlib.ticker import MultipleLocator

    ax.set_aspect(0.4)  # 10 mm/mV against 25 mm/s
    ax.xaxis.set_major_locator(MultipleLocator(0.2))
    ax.xaxis.set_minor_locator(MultipleLocator(0.04))
    ax.yaxis.set_major_locator(MultipleLocator(0.5))
    ax.yaxis.set_minor_locator(MultipleLocator(0.1))
    ax.grid(which="major", color="#e8a0a0", lw=0.5)
    ax.grid(which="minor", color="#f7d9d9", lw=0.3)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_facecolor("#fff8f8")
    ax.set_title(title, fontsize=9, loc="left")


def plot_synthetic(out: Path, seed: int = 1, per_class: int = 3, dpi: int = 90, fs: int = 500) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import wfdb

    from ecgmask.data.corpora.synthetic import write_record

    picked = pick_records(seed, per_class)
    fig, axes = plt.subplots(len(CLASSES), per_class, figsize=(10.6 * per_class, 5.6 * len(CLASSES)), squeeze=False)
    with tempfile.TemporaryDirectory() as tmp:
        for r, cls in enumerate(CLASSES):
            for c, p in enumerate(picked[cls]):
                hea = write_record(Path(tmp), p, fs=fs)
                rec = wfdb.rdrecord(str(hea.with_suffix("")))
                dx = {"164890007": "AFL", "426761007": "SVT", "427084000": "ST", "713422000": "AT"}.get(p.dx, cls)
                title = f"{p.name}  {cls} ({dx}, #Dx {p.dx})  {p.sex} {p.age}  ~{p.heart_rate:.0f} bpm"
                draw_ecg(axes[r, c], rec.p_signal.T, rec.fs, rec.sig_name, title)
    fig.suptitle(
        f"Synthetic 12-lead ECGs (seed {seed}); 25 mm/s, 10 mm/mV, large squares 0.2 s x 0.5 mV", fontsize=12
    )
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return save_figure(fig, out, dpi)


def save_figure(fig, out: Path, dpi: int) -> Path:
    """Write `fig` to `out` (its folder made if needed), close it, return the path."""
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("docs/synthetic_records.png"), help="PNG to write")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed (1: the default pretraining tree)")
    ap.add_argument("--per-class", type=int, default=3, help="records per rhythm class")
    ap.add_argument("--dpi", type=int, default=90)
    args = ap.parse_args(argv)
    print(plot_synthetic(args.out, seed=args.seed, per_class=args.per_class, dpi=args.dpi))


if __name__ == "__main__":
    main()
