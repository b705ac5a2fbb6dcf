"""`python -m ecgmask.pretrain`: one pretraining configuration on a cache, without Ray."""

from __future__ import annotations

import argparse
import json
import sys

from ecgmask.pretrain.config import PretrainConfig
from ecgmask.pretrain.run import pretrain
from ecgmask.profiles import PROFILES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecgmask.pretrain",
        description="Pretrain one SimCLR configuration (any augmentation, or the adversarial masker) on a "
        "pretraining cache, without Ray. Writes encoder.pt and state.pt to --out after every epoch; "
        "rerunning with the same --out resumes.",
    )
    parser.add_argument("--cache", required=True,
                        help="pretraining cache directory (from sweep/prepare.py or build_cache)")
    parser.add_argument("--out", required=True, help="checkpoint directory to write (and resume from)")
    parser.add_argument("--augmentation", default="advmask+3kg",
                        help="augmentation name, compositions with '+' (default: advmask+3kg)")
    parser.add_argument("--profile", default="laptop", choices=sorted(PROFILES), help="size profile, one of ecgmask/profiles.py (default: laptop)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: the profile's)")
    parser.add_argument("--batch-size", type=int, help="micro-batch size (default: the profile's)")
    parser.add_argument("--accumulation", type=int, help="micro-batches per optimiser step (default: the profile's)")
    parser.add_argument("--lr", type=float, help="encoder Adam learning rate (default 1e-4)")
    parser.add_argument("--masker-lr", type=float, help="masker Adam learning rate (default 1e-4)")
    parser.add_argument("--n-masks", type=int, help="advmask: number of masks N (default 2)")
    parser.add_argument("--alpha", type=float, help="advmask: sparsity penalty weight (default 1)")
    parser.add_argument("--ratio", type=float, help="advmask: sparsity ratio R (default 1)")
    parser.add_argument("--max-steps-per-epoch", type=int, help="cap on optimiser steps per epoch")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:n]")
    parser.add_argument("--no-amp", action="store_true", help="disable fp16 mixed precision on CUDA")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    overrides = {
        name: value
        for name, value in {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "accumulation": args.accumulation,
            "lr": args.lr,
            "masker_lr": args.masker_lr,
            "n_masks": args.n_masks,
            "alpha": args.alpha,
            "ratio": args.ratio,
            "max_steps_per_epoch": args.max_steps_per_epoch,
        }.items()
        if value is not None
    }
    try:
        config = PretrainConfig.from_profile(
            args.profile, augmentation=args.augmentation, seed=args.seed, device=args.device,
            amp=not args.no_amp, **overrides,
        )
    except ValueError as err:
        parser.error(str(err))

    def log(metrics: dict) -> None:
        shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()}
        print(json.dumps(shown), flush=True)

    try:
        result = pretrain(config, args.cache, args.out, progress=not args.quiet, log=log)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"checkpoint written to {result['checkpoint']} (encoder.pt, state.pt)")
    return 0
