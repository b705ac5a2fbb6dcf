"""How much of Table 1's ± is which patients are labelled: the probes of a sweep's encoders
with `profile.split_seed_per_seed` off (one labelled subset for every seed, as Table 1 by
default) and on (each seed draws its own subset; same validation and test sets).

    python benchmarks/subset_spread.py --sweep results/<sweep> --fractions 0.01,0.1

Every probe is the sweep's own (`ProbeConfig.from_profile` of the profile, then `run_probe`
on the sweep's encoder and downstream cache, as `trainables/probe.py` does), so with the
setting off it repeats the sweep's numbers on CPU. The `random` row is probed with the same
seeds. Writes `--out` (default results/subset_spread/): `spread.csv` (every probe) and
`spread.md` (mean ± std over seeds per row, task, fraction and setting).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="subset_spread.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--sweep", required=True, type=Path, help="a sweep with finished pretraining trials")
    p.add_argument("--fractions", default="0.01,0.1", help="labelled fractions [0.01,0.1]")
    p.add_argument("--tasks", default="arrhythmia,sex")
    p.add_argument("--profile", default="laptop")
    p.add_argument("--out", type=Path, default=Path("results/subset_spread"))
    args = p.parse_args(argv)

    import torch

    from ecgmask.data import EcgCache
    from ecgmask.profiles import get_profile
    from ecgmask.transfer import ProbeConfig, run_probe
    from sweep.store.layout import SweepLayout

    torch.set_num_threads(1)
    layout = SweepLayout(str(args.sweep))
    plan = json.loads(Path(layout.plan).read_text())
    cache = EcgCache.open(plan["data"]["downstream"])
    encoders = [(t["row"], int(t["seed"]), Path(layout.encoder(t["key"]))) for t in plan["pretrain"]
                if (Path(layout.encoder(t["key"])) / "encoder.pt").is_file()]
    runs = encoders + [("random", seed, None) for seed in sorted({s for _, s, _ in encoders})]
    lines = []
    for per_seed in (False, True):
        profile = get_profile(args.profile).with_overrides(split_seed_per_seed=per_seed)
        for row, seed, checkpoint in runs:
            for task in args.tasks.split(","):
                for fraction in map(float, args.fractions.split(",")):
                    config = ProbeConfig.from_profile(profile, task=task, fraction=fraction, seed=seed,
                                                      mode="random" if checkpoint is None else "linear", device="cpu")
                    result = run_probe(config, cache, checkpoint)
                    lines.append({"split_seed_per_seed": per_seed, "row": row, "seed": seed, "task": task,
                                  "fraction": fraction, "test_accuracy": result["test_accuracy"],
                                  "n_train": result["n_train"], "steps_run": result["steps_run"]})
                    print(f"per_seed={per_seed} {row} s{seed} {task} {fraction}: {result['test_accuracy']:.4f}",
                          file=sys.stderr, flush=True)
    frame = pd.DataFrame(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "spread.csv", index=False)
    summary = frame.groupby(["row", "task", "fraction", "split_seed_per_seed"])["test_accuracy"].agg(
        ["mean", "std", "count"]).mul([100, 100, 1]).unstack("split_seed_per_seed")
    out = ["| row | task | fraction | one subset (off): mean ± std | a subset per seed (on): mean ± std | seeds |",
           "|---|---|---:|---:|---:|---:|"]
    for (row, task, fraction), r in summary.iterrows():
        out.append(f"| {row} | {task} | {fraction:g} | {r[('mean', False)]:.1f} ± {r[('std', False)]:.1f} | "
                   f"{r[('mean', True)]:.1f} ± {r[('std', True)]:.1f} | {int(r[('count', True)])} |")
    text = "Test accuracy, %, mean ± std (ddof=1) over seeds.\n\n" + "\n".join(out) + "\n"
    (args.out / "spread.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
