"""python -m ecgmask.transfer: one transfer run without Ray, with a progress bar."""

from __future__ import annotations

import argparse
import json
import sys

from ecgmask.profiles import PROFILES
from ecgmask.tasks import TASKS
from ecgmask.transfer.config import MODES, ProbeConfig
from ecgmask.transfer.probe import run_probe


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m ecgmask.transfer",
        description="Transfer a pretrained encoder to a downstream task (linear probe, fine-tuning) "
        "or train the baselines (scratch, random) on one labelled fraction, and print the test metrics.",
    )
    p.add_argument("--cache", required=True, help="downstream cache directory (built by ecgmask.data.build_cache)")
    p.add_argument("--checkpoint", help="pretraining checkpoint directory holding encoder.pt (linear, finetune)")
    p.add_argument("--task", choices=list(TASKS), default="arrhythmia",
                   help="; ".join(f"{t.name}: {t.description}" for t in TASKS.values()))
    p.add_argument("--fraction", type=float, default=1.0, help="fraction of the training patients labelled (default 1.0)")
    p.add_argument("--mode", choices=MODES, default="linear")
    p.add_argument("--seed", type=int, default=0, help="trial seed: head/encoder init and batch order")
    p.add_argument("--profile", choices=sorted(PROFILES), default="laptop", help="sizes (step budget, validation interval, patience, width)")
    p.add_argument("--steps", type=int, help="override the profile's budget of optimiser steps")
    p.add_argument("--eval-every", type=int, help="override the profile's optimiser steps between validations")
    p.add_argument("--patience", type=int, help="override the profile's early-stopping patience (validations)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the patient split and labelled subset")
    p.add_argument("--subset-seed", type=int, help="seed of the labelled subset alone [--split-seed]")
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda, cuda:1 ...")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON line")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    given = (("steps", args.steps), ("eval_every", args.eval_every), ("patience", args.patience),
             ("subset_seed", args.subset_seed))
    overrides = {k: v for k, v in given if v is not None}
    try:
        config = ProbeConfig.from_profile(
            args.profile, task=args.task, fraction=args.fraction, seed=args.seed, mode=args.mode,
            split_seed=args.split_seed, device=args.device, **overrides,
        )
        result = run_probe(config, args.cache, args.checkpoint, progress=True)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.mode} probe, task {args.task}, fraction {args.fraction}, seed {args.seed}")
        for key, value in result.items():
            print(f"  {key:24s} {value:.4f}" if isinstance(value, float) else f"  {key:24s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
