"""Time of one optimiser step: SimCLR (gaussian) against the adversarial masker (N = 2),
measured side by side in one run, at the paper's input and at the laptop profile.

    python benchmarks/step.py [--threads 2] [--repeats 2]

Goals (issues 3 and 8.2): an advmask step costs at most 1.25x a SimCLR step; the laptop
profile pretrains at least 50 samples/s on 2 cores. The steps of the two methods are interleaved
(one of each per repeat) so that load from other processes hits both alike; the reported
time is the fastest of the repeats (other processes only ever add time), after one warm-up
step each, and the ratio is that of the fastest steps; "paired" is the median over repeats of
the ratio of the two adjacent steps (the one less thrown by a burst of load on one of them).

A step here is one batch of 32 (accumulation 1, shown as "(x1)"); with accumulation each
optimiser step is that many such batches, and the ratio is the same.

Count of work per step (B = batch): SimCLR = encoder forward + backward over 2B; advmask =
the same (one backward: the masker's gradient comes back through a gradient reversal on the
masks, `Pretrainer.backward`), plus one masker forward + backward over B and the input
gradient of the encoder's first convolution over the B masked inputs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from ecgmask.pretrain import PretrainConfig, Pretrainer
from ecgmask.profiles import LAPTOP, PAPER
from sweep.estimate import RandomCache

RATIO_GOAL = 1.25  # advmask step time / SimCLR step time (issue 8.2)


def step_seconds(trainer: Pretrainer) -> float:
    start = time.perf_counter()
    trainer.run_epoch()  # max_steps_per_epoch=1: exactly one optimiser step
    return time.perf_counter() - start


def compare(label: str, profile, masker_width: int, repeats: int, device: str) -> dict:
    cache = RandomCache(n=2 * profile.batch_size, length=profile.length, fs=profile.fs)
    common = dict(seed=0, epochs=10**6, patience=10**6, accumulation=1, max_steps_per_epoch=1, device=device,
                  masker_width=masker_width)
    simclr = Pretrainer(PretrainConfig.from_profile(profile, augmentation="gaussian", **common), cache)
    advmask = Pretrainer(PretrainConfig.from_profile(profile, augmentation="advmask", n_masks=2, **common), cache)
    step_seconds(simclr), step_seconds(advmask)  # warm-up
    times = {"simclr": [], "advmask": []}
    for _ in range(repeats):
        times["simclr"].append(step_seconds(simclr))
        times["advmask"].append(step_seconds(advmask))
    s, a = min(times["simclr"]), min(times["advmask"])
    paired = statistics.median(t_a / t_s for t_s, t_a in zip(times["simclr"], times["advmask"]))
    batch = profile.batch_size
    return {"label": label, "input": f"12 x {profile.length}, batch {batch} (x1), width {profile.width}, "
            f"masker {masker_width}", "simclr_s": s, "advmask_s": a, "ratio": a / s, "paired": paired,
            "simclr_samples_per_s": batch / s, "advmask_samples_per_s": batch / a}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2, the laptop target)")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per method after one warm-up (default 3)")
    parser.add_argument("--laptop-repeats", type=int, default=8, help="timed steps per method at laptop size")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--skip-paper", action="store_true", help="only the laptop profile")
    parser.add_argument("--masker-width", type=int, help="U-Net width for both rows (default: each profile's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    rows = []
    if not args.skip_paper:
        rows.append(compare("paper", PAPER, args.masker_width or PAPER.masker_width, args.repeats, args.device))
    rows.append(compare("laptop", LAPTOP, args.masker_width or LAPTOP.masker_width, args.laptop_repeats, args.device))

    print(f"one optimiser step, torch threads = {args.threads}, device = {args.device}, "
          f"torch {torch.__version__}; fastest of {args.repeats} (paper) / {args.laptop_repeats} (laptop) steps; "
          f"{time.perf_counter() - started:.0f} s in all; 1-min load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (on {os.cpu_count()} CPUs)")
    print(f"{'profile':<10}{'input':<52}{'SimCLR s':>10}{'advmask s':>11}{'ratio':>8}{'paired':>8}{'SimCLR/s':>10}"
          f"{'adv/s':>8}")
    for r in rows:
        print(f"{r['label']:<10}{r['input']:<52}{r['simclr_s']:>10.3f}{r['advmask_s']:>11.3f}{r['ratio']:>8.2f}"
              f"{r['paired']:>8.2f}{r['simclr_samples_per_s']:>10.1f}{r['advmask_samples_per_s']:>8.1f}")
    worst = max(r["ratio"] for r in rows)
    laptop = rows[-1]
    print(f"goal advmask <= {RATIO_GOAL}x SimCLR: worst ratio {worst:.2f} -> "
          f"{'met' if worst <= RATIO_GOAL else 'NOT met'}")
    print(f"goal laptop >= 50 samples/s: SimCLR {laptop['simclr_samples_per_s']:.1f}, "
          f"advmask {laptop['advmask_samples_per_s']:.1f} -> "
          f"{'met' if min(laptop['simclr_samples_per_s'], laptop['advmask_samples_per_s']) >= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
