"""Does my pretraining help? Learning curves that size the pretraining budget.

    python benchmarks/learning.py                       # laptop profile, synthetic corpus
    python benchmarks/learning.py --pretrain-cache .cache/data/pretrain-<key>   # another corpus

For each augmentation (default: SimCLR with 3KG, the adversarial masker, one plain
augmentation) and pretraining seed, pretrains once up to the largest epoch count and keeps the
encoder after each of `--epochs` (default 1, 3, 10, 30). Every kept encoder is probed (frozen,
linear, the sweep's own `run_probe`) on the downstream tasks at 1, 10 and 100% of the labels,
next to the random frozen encoder with the same seed. Pretraining seed s is paired with random
encoder s and probe seed s (same split, same labelled subset), so the paired difference
"pretrained - random" has a 95% t-interval over seeds.

Writes under `--out` (default results/learning/): `runs/` (checkpoints and one JSON per
finished job: a rerun continues where it stopped), `learning.csv` (every probe), `learning.md`
(the table), `learning.png` (probe accuracy against epochs, random encoder as a band; and the
training NT-Xent per epoch).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from sweep.prepare import DEFAULT_OUT

DEFAULT_AUGMENTATIONS = ("3kg", "advmask", "gaussian")
DEFAULT_EPOCHS = (1, 3, 10, 30)
DEFAULT_FRACTIONS = (0.01, 0.1, 1.0)
DEFAULT_TASKS = ("arrhythmia", "sex")


def _csv(kind):
    def parse(text: str):
        try:
            values = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a comma-separated list of {kind.__name__}") from None
        if not values or len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"{text!r}: expected distinct values")
        return values

    return parse


def _pretrain_job(augmentation: str, seed: int, epochs: list[int], profile: dict, cache_path: str,
                  out: str, threads: int) -> dict:
    """Pretrains to max(epochs), saving the encoder after each epoch in `epochs`; returns the
    per-epoch history. Resumes from `out/state` when a previous run was interrupted."""
    import torch

    from ecgmask.data import EcgCache
    from ecgmask.pretrain import PretrainConfig, Pretrainer
    from ecgmask.profiles import Profile

    torch.set_num_threads(threads)
    out = Path(out)
    done = out / "history.json"
    if done.is_file():
        return json.loads(done.read_text())
    cache = EcgCache.open(cache_path)
    # patience above the budget: a curve runs every epoch it is asked for
    config = PretrainConfig.from_profile(Profile(**profile), augmentation=augmentation, seed=seed,
                                         epochs=max(epochs), patience=max(epochs) + 1, device="cpu")
    state = out / "state"
    trainer = Pretrainer.from_checkpoint(state, cache) if (state / "state.pt").is_file() else Pretrainer(config, cache)
    start = time.perf_counter()
    while not trainer.stopped:
        metrics = trainer.run_epoch()
        if metrics["epoch"] in epochs:
            from ecgmask.checkpoint import save_encoder

            save_encoder(out / f"epoch{metrics['epoch']}", trainer.encoder, config.to_dict())
        trainer.save_checkpoint(state)
    history = {"augmentation": augmentation, "seed": seed, "history": trainer.history,
               "seconds": time.perf_counter() - start}
    done.write_text(json.dumps(history))
    return history


def _probe_job(checkpoint: str | None, mode: str, seed: int, tasks: list[str], fractions: list[float],
               profile: dict, cache_path: str, out: str, threads: int) -> list[dict]:
    """Linear probes of one encoder (or the random one) on every task x fraction."""
    import torch

    from ecgmask.data import EcgCache
    from ecgmask.profiles import Profile
    from ecgmask.transfer import ProbeConfig, run_probe

    torch.set_num_threads(threads)
    out = Path(out)
    if out.is_file():
        return json.loads(out.read_text())
    cache = EcgCache.open(cache_path)
    rows = []
    for task in tasks:
        for fraction in fractions:
            config = ProbeConfig.from_profile(Profile(**profile), task=task, fraction=fraction, seed=seed,
                                              mode=mode, device="cpu")
            result = run_probe(config, cache, checkpoint)
            rows.append({"task": task, "fraction": fraction, "seed": seed, **{
                k: result[k] for k in ("test_accuracy", "test_balanced_accuracy", "test_auc", "n_train", "n_test")}})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows))
    return rows


def paired_interval(differences) -> tuple[float, float, float]:
    """Mean of paired differences and its 95% t-interval (nan bounds with one pair)."""
    from scipy import stats

    d = np.asarray(differences, dtype=float)
    mean = float(d.mean())
    if len(d) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
    return mean, mean - half, mean + half


def early_stop_epoch(nt_xent, patience: int) -> int | None:
    """The epoch at which the pretraining's early stopping (no better training NT-Xent for
    `patience` epochs, as `Pretrainer.run_epoch` counts) would have ended this run; None if
    it would not have fired within the epochs run."""
    best, waited = math.inf, 0
    for epoch, loss in enumerate(nt_xent, start=1):
        if loss < best:
            best, waited = loss, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch
    return None


def summarize(probes: pd.DataFrame, metric: str = "test_accuracy") -> pd.DataFrame:
    """One row per (encoder, epochs, task, fraction): mean accuracy over seeds and the paired
    difference to the random encoder of the same seed with its 95% interval."""
    random = probes[probes.encoder == "random"].set_index(["task", "fraction", "seed"])[metric]
    rows = []
    for (encoder, epochs, task, fraction), group in probes.groupby(["encoder", "epochs", "task", "fraction"]):
        values = group.set_index("seed")[metric]
        row = {"encoder": encoder, "epochs": epochs, "task": task, "fraction": fraction,
               "mean": values.mean(), "std": values.std(ddof=1) if len(values) > 1 else math.nan, "n": len(values)}
        if encoder != "random":
            base = random.loc[[(task, fraction, s) for s in values.index]].to_numpy()
            row["diff"], row["lo"], row["hi"] = paired_interval(values.to_numpy() - base)
        rows.append(row)
    return pd.DataFrame(rows)


def table_markdown(summary: pd.DataFrame, losses: pd.DataFrame, tasks, fractions) -> str:
    """Rows: the random encoder, then each augmentation x epochs; cells: mean accuracy (%) and,
    for pretrained encoders, the paired difference to random with its 95% interval."""
    columns = [(t, f) for t in tasks for f in fractions]
    head = ["encoder", "epochs", "NT-Xent"] + [f"{t} {f:g}" for t, f in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = [("random", 0)] + sorted({(e, int(n)) for e, n in zip(summary.encoder, summary.epochs) if e != "random"})
    for encoder, epochs in order:
        cells = [encoder, str(epochs) if encoder != "random" else "-"]
        loss = losses[(losses.augmentation == encoder) & (losses.epoch == epochs)].nt_xent
        cells.append(f"{loss.mean():.3f}" if len(loss) else "-")
        for task, fraction in columns:
            r = summary[(summary.encoder == encoder) & (summary.epochs == epochs) & (summary.task == task)
                        & np.isclose(summary.fraction, fraction)]
            if r.empty:
                cells.append("-")
                continue
            r = r.iloc[0]
            text = f"{100 * r['mean']:.1f}"
            if encoder != "random":
                text += f" ({100 * r['diff']:+.1f} [{100 * r['lo']:+.1f}, {100 * r['hi']:+.1f}])"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _epoch_axis(ax, epochs) -> None:
    """A log axis labelled with the epoch counts themselves."""
    from matplotlib.ticker import FixedLocator, NullLocator

    ticks = sorted({int(e) for e in epochs})
    ax.set_xscale("log")
    shown = [t for t in ticks if t in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200)] or ticks
    ax.xaxis.set_major_locator(FixedLocator(shown))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(t) for t in shown])


def plot(summary: pd.DataFrame, losses: pd.DataFrame, tasks, fractions, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    encoders = sorted(e for e in summary.encoder.unique() if e != "random")
    colours = {e: f"C{i}" for i, e in enumerate(encoders)}
    fig, axes = plt.subplots(len(tasks), len(fractions) + 1, figsize=(4 * (len(fractions) + 1), 3.2 * len(tasks)),
                             squeeze=False)
    for i, task in enumerate(tasks):
        for j, fraction in enumerate(fractions):
            ax = axes[i][j]
            sel = summary[(summary.task == task) & np.isclose(summary.fraction, fraction)]
            rnd = sel[sel.encoder == "random"]
            if not rnd.empty:
                m, s = 100 * rnd.iloc[0]["mean"], 100 * np.nan_to_num(rnd.iloc[0]["std"])
                ax.axhspan(m - s, m + s, color="0.85", label="random encoder (±1 sd)")
                ax.axhline(m, color="0.4", lw=1)
            for encoder in encoders:
                e = sel[sel.encoder == encoder].sort_values("epochs")
                m, s = 100 * e["mean"].to_numpy(), 100 * np.nan_to_num(e["std"].to_numpy())
                ax.plot(e.epochs, m, "o-", color=colours[encoder], label=encoder)
                ax.fill_between(e.epochs, m - s, m + s, color=colours[encoder], alpha=0.15)
            _epoch_axis(ax, summary.epochs[summary.encoder != "random"].unique())
            ax.set_title(f"{task}, {100 * fraction:g}% of labels")
            ax.set_xlabel("pretraining epochs")
            ax.set_ylabel("test accuracy (%)")
            ax.grid(alpha=0.3)
        ax = axes[i][-1]
        if i == 0:
            for encoder in encoders:
                g = losses[losses.augmentation == encoder].groupby("epoch").nt_xent
                m, s = g.mean(), g.std().fillna(0)
                ax.plot(m.index, m.to_numpy(), color=colours[encoder], label=encoder)
                ax.fill_between(m.index, (m - s).to_numpy(), (m + s).to_numpy(), color=colours[encoder], alpha=0.15)
            ax.set_title("training NT-Xent")
            ax.set_xlabel("epoch")
            _epoch_axis(ax, losses.epoch.unique())
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        else:
            ax.axis("off")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Linear probe of the frozen encoder against pretraining epochs (mean ± 1 sd over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Learning curves: linear-probe accuracy after 1, 3, 10, 30 epochs of pretraining with a few "
        "augmentations, against the random frozen encoder, with paired 95%% intervals over seeds. "
        "Use it to choose a pretraining budget where the loss and the probe have flattened.")
    parser.add_argument("--profile", default="laptop", help="size profile (default: laptop)")
    parser.add_argument("--augmentations", type=_csv(str), default=list(DEFAULT_AUGMENTATIONS),
                        help="comma-separated augmentations (default: 3kg,advmask,gaussian)")
    parser.add_argument("--epochs", type=_csv(int), default=list(DEFAULT_EPOCHS),
                        help="epoch counts at which the encoder is probed (default: 1,3,10,30)")
    parser.add_argument("--seeds", type=_csv(int), default=[0, 1, 2], help="pretraining = probe seeds (default 0,1,2)")
    parser.add_argument("--tasks", type=_csv(str), default=list(DEFAULT_TASKS))
    parser.add_argument("--fractions", type=_csv(float), default=list(DEFAULT_FRACTIONS))
    parser.add_argument("--pretrain-records", type=int, help="synthetic pretraining records (default: the profile's)")
    parser.add_argument("--downstream-records", type=int, help="synthetic downstream records (default: the profile's)")
    parser.add_argument("--pretrain-cache", help="pretrain on this cache instead of the synthetic corpus")
    parser.add_argument("--data", default=str(DEFAULT_OUT), help=f"where the synthetic corpus lives (default {DEFAULT_OUT})")
    parser.add_argument("--out", default="results/learning", help="output folder (default results/learning)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="parallel jobs, one torch thread each (default: 2)")
    args = parser.parse_args(argv)
    if any(e < 1 for e in args.epochs):
        parser.error("--epochs: every value must be at least 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")

    from ecgmask.data import default_study
    from ecgmask.profiles import get_profile
    from tqdm.auto import tqdm

    try:
        profile = get_profile(args.profile)
    except ValueError as err:
        parser.error(str(err))
    sizes = {k: v for k, v in (("pretrain_records", args.pretrain_records),
                                ("downstream_records", args.downstream_records)) if v is not None}
    profile = profile.with_overrides(**sizes)
    caches = default_study(args.data, profile)
    pretrain_cache = str(Path(args.pretrain_cache).resolve()) if args.pretrain_cache else str(caches["pretrain"])
    downstream = str(caches["downstream"])
    out = Path(args.out)
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    pdict = profile.to_dict()
    epochs = sorted(args.epochs)
    (out / "setup.json").write_text(json.dumps({"profile": pdict, "pretrain_cache": pretrain_cache,
                                                "downstream_cache": downstream, "argv": sys.argv}, indent=1))

    started = time.perf_counter()
    ctx = get_context("forkserver")
    histories, probe_rows = [], []
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=ctx) as pool:
        jobs = {pool.submit(_pretrain_job, aug, seed, epochs, pdict, pretrain_cache,
                            str(runs / aug.replace("+", "_") / f"s{seed}"), 1): (aug, seed)
                for aug in args.augmentations for seed in args.seeds}
        probes = {pool.submit(_probe_job, None, "random", seed, args.tasks, args.fractions, pdict, downstream,
                              str(runs / "random" / f"s{seed}.json"), 1): ("random", 0, seed) for seed in args.seeds}
        with tqdm(total=len(jobs), desc="pretraining", unit="run") as bar:
            for job in as_completed(jobs):
                aug, seed = jobs[job]
                histories.append(job.result())
                bar.update()
                base = runs / aug.replace("+", "_") / f"s{seed}"
                for e in epochs:
                    probes[pool.submit(_probe_job, str(base / f"epoch{e}"), "linear", seed, args.tasks,
                                       args.fractions, pdict, downstream, str(base / f"probe-epoch{e}.json"), 1)] = (
                        aug, e, seed)
        for job in tqdm(as_completed(list(probes)), total=len(probes), desc="probing", unit="encoder"):
            encoder, e, _ = probes[job]
            probe_rows += [{"encoder": encoder, "epochs": e, **row} for row in job.result()]

    probes_df = pd.DataFrame(probe_rows).sort_values(["encoder", "epochs", "task", "fraction", "seed"])
    probes_df.to_csv(out / "learning.csv", index=False)
    losses = pd.DataFrame([{"augmentation": h["augmentation"], "seed": h["seed"], **m}
                           for h in histories for m in h["history"]])
    losses.to_csv(out / "pretrain_loss.csv", index=False)
    summary = summarize(probes_df)
    table = table_markdown(summary, losses, args.tasks, args.fractions)
    n_pre = len(__import__("ecgmask.data", fromlist=["EcgCache"]).EcgCache.open(pretrain_cache))
    probe_n = probes_df[probes_df.encoder == "random"].groupby(["task", "fraction"]).n_train.first()
    header = (f"Profile {profile.name}; pretraining on {pretrain_cache} ({n_pre} windows); seeds "
              f"{','.join(map(str, args.seeds))}; linear probe test accuracy (%), in brackets the paired "
              f"difference to the random encoder with its 95% interval over seeds. Labelled training windows: "
              + ", ".join(f"{t} {f:g}: {n}" for (t, f), n in probe_n.items())
              + f"; test windows: {int(probes_df.n_test.iloc[0])}. Wall time of this invocation "
              f"{time.perf_counter() - started:.0f} s (jobs finished by an earlier one are reused, not rerun); "
              f"pretraining compute {sum(h['seconds'] for h in histories):.0f} s over {len(histories)} runs.")
    stops = {aug: [early_stop_epoch(g.sort_values("epoch").nt_xent.tolist(), profile.patience)
                   for _, g in losses[losses.augmentation == aug].groupby("seed")] for aug in args.augmentations}
    footer = (f"The curves run every epoch; the sweep's early stopping (no better training NT-Xent for "
              f"{profile.patience} epochs, the method's) would have stopped the runs at epoch: "
              + "; ".join(f"{aug} " + ", ".join("never" if e is None else str(e) for e in v) for aug, v in stops.items()))
    table += "\n\n" + footer
    (out / "learning.md").write_text(header + "\n\n" + table + "\n")
    plot(summary, losses, args.tasks, args.fractions, out / "learning.png")
    print(header)
    print()
    print(table)
    print(f"\nwrote {out / 'learning.md'}, {out / 'learning.csv'}, {out / 'learning.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
