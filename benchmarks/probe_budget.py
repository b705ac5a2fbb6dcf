"""The linear probe's budget of optimiser steps, chosen on validation data only.

    python benchmarks/probe_budget.py --sweep results/<sweep>      # its encoders and downstream cache

For every encoder a sweep published (and a random encoder per seed, the `random` row), every
task and labelled fraction, the validation split is cut in two halves by patient: the probe
early-stops on the first half (as `run_probe` does on the whole) and is scored on the second,
so a longer budget is not favoured just for taking the maximum of more validations. The test
split is never read.

One probe per (encoder, task, fraction, validation interval) runs the largest budget without
stopping; the batch stream does not depend on when a probe stops, so every (steps, patience)
of the grid is read off that one trajectory exactly: the first validation that `patience`
later ones do not beat, or the last one within `steps`. Writes `--out` (default
results/probe_budget/): `budget.csv` (one line per trajectory and budget) and `budget.md`
(mean held-out accuracy per budget and fraction, with the steps run).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

STEPS = (100, 300, 1000, 3000)
EVAL_EVERY = (10,)
PATIENCE = (3, 10, 30)
TASKS = ("arrhythmia", "sex")
FRACTIONS = (0.01, 0.1, 1.0)


def halves(records: pd.DataFrame, val: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The validation rows cut in two by patient: (early stopping, held-out scoring)."""
    patients = records["patient_id"].astype(str).to_numpy()[val]
    unique = np.unique(patients)
    first = set(unique[np.random.default_rng(seed).permutation(len(unique))[: len(unique) // 2]])
    in_first = np.array([p in first for p in patients])
    return val[in_first], val[~in_first]


def trajectory(features, y, splits, n_classes, *, seed, steps, eval_every, batch_size, lr) -> list[tuple[int, float, float]]:
    """[(step, early-stopping half score, held-out half score)] at every validation of one
    `linear_probe` run of `steps` steps that never stops early."""
    import torch

    from ecgmask.transfer import linear as linear_module
    from ecgmask.transfer.objective import objective_for

    objective = objective_for(y)
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    train = torch.as_tensor(splits["train"])
    mean = x[train].mean(dim=0)
    std = x[train].std(dim=0, unbiased=False) if len(train) > 1 else torch.ones_like(mean)
    held_x = (x[torch.as_tensor(splits["held"])] - mean) / (std + 1e-6)  # as linear_probe standardises
    held_y = np.asarray(y)[splits["held"]]
    points = []
    real = linear_module.fit_steps

    def recording(model, *, val_score, **kw):
        def both() -> float:
            score = val_score()
            with torch.no_grad():
                model.eval()
                held = objective.val_score(held_y, model(held_x).float().numpy())
            points.append((min(len(points) * eval_every + eval_every, steps), score, held))
            return score

        return real(model, val_score=both, **kw)

    linear_module.fit_steps = recording
    try:
        linear_module.linear_probe(features, y, {"train": splits["train"], "val": splits["val"], "test": splits["held"]},
                                   n_classes, seed=seed, steps=steps, eval_every=eval_every, patience=steps + 1,
                                   lr=lr, batch_size=batch_size, device="cpu")
    finally:
        linear_module.fit_steps = real
    return points


def stop(points, steps: int, patience: int) -> tuple[int, int, float]:
    """(steps run, best step, held-out score of the kept head) of the budget (steps, patience)."""
    best, waited, run = None, 0, 0
    for step, score, held in points:
        if step > steps:
            break
        run = step
        if best is None or score > best[1]:
            best, waited = (step, score, held), 0
        else:
            waited += 1
        if waited >= patience:
            break
    return run, best[0], best[2]


def encoders(sweep: Path) -> list[tuple[str, int, Path]]:
    """(row, seed, encoder dir) of every finished pretraining of the sweep."""
    from sweep.store.layout import SweepLayout

    layout = SweepLayout(str(sweep))
    plan = json.loads(Path(layout.plan).read_text())
    found = []
    for trial in plan["pretrain"]:
        path = Path(layout.encoder(trial["key"]))
        if (path / "encoder.pt").is_file():
            found.append((trial["row"], int(trial["seed"]), path))
    return found


def markdown(table: pd.DataFrame) -> str:
    head = list(table.index.names) + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for key, row in table.iterrows():
        lines.append("| " + " | ".join([*map(str, key), *(f"{v:.2f}" for v in row)]) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="probe_budget.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--sweep", required=True, type=Path, help="a finished sweep (its encoders and downstream cache)")
    p.add_argument("--out", type=Path, default=Path("results/probe_budget"))
    p.add_argument("--profile", default="laptop")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    import torch

    from ecgmask.checkpoint import load_encoder
    from ecgmask.data import EcgCache
    from ecgmask.models.resnet1d import ResNet1d18
    from ecgmask.profiles import get_profile
    from ecgmask.transfer import ProbeConfig, compute_embeddings, embeddings
    from ecgmask.transfer.probe import task_splits

    torch.set_num_threads(args.threads)
    profile = get_profile(args.profile)
    plan = json.loads((args.sweep / "plan.json").read_text())
    cache = EcgCache.open(plan["data"]["downstream"])
    runs = []
    for row, seed, path in encoders(args.sweep):
        encoder, _ = load_encoder(path)
        runs.append((row, seed, embeddings(encoder, cache, path, device="cpu")))
    for seed in sorted({s for _, s, _ in runs}):
        torch.manual_seed(seed)
        runs.append(("random", seed, compute_embeddings(ResNet1d18(width=profile.width), cache, device="cpu")))
    base = ProbeConfig.from_profile(profile, task="arrhythmia", fraction=1.0, seed=0)
    lines = []
    for (row, seed, features), task, fraction, every in itertools.product(runs, TASKS, FRACTIONS, EVAL_EVERY):
        config = ProbeConfig.from_profile(profile, task=task, fraction=fraction, seed=seed)
        y, classes, splits = task_splits(cache, config)
        stopping, held = halves(cache.records, splits["val"])
        points = trajectory(features, y, {"train": splits["train"], "val": stopping, "held": held}, len(classes),
                            seed=seed, steps=max(STEPS), eval_every=every, batch_size=base.batch_size, lr=base.lr)
        for steps, patience in itertools.product(STEPS, PATIENCE):
            run, best, score = stop(points, steps, patience)
            lines.append({"row": row, "seed": seed, "task": task, "fraction": fraction, "eval_every": every,
                          "steps": steps, "patience": patience, "steps_run": run, "best_step": best,
                          "held_out_accuracy": score, "n_train": len(splits["train"])})
        print(f"{row} s{seed} {task} {fraction} every {every}: {len(points)} validations", file=sys.stderr, flush=True)
    frame = pd.DataFrame(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "budget.csv", index=False)
    keys = ["eval_every", "steps", "patience"]
    table = frame.pivot_table(index=keys, columns="fraction", values="held_out_accuracy", aggfunc="mean") * 100
    table["mean"] = frame.groupby(keys)["held_out_accuracy"].mean() * 100
    table["steps run (1%)"] = frame[frame["fraction"] == min(FRACTIONS)].groupby(keys)["steps_run"].mean()
    table["steps run (100%)"] = frame[frame["fraction"] == max(FRACTIONS)].groupby(keys)["steps_run"].mean()
    table = table.sort_values("mean", ascending=False)
    text = (f"Held-out half of the validation split, accuracy in %, mean over {frame.groupby(['row', 'seed']).ngroups} "
            f"encoders x {len(TASKS)} tasks; columns: labelled fraction.\n\n" + markdown(table) + "\n")
    (args.out / "budget.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
