"""Time of one optimiser step: SimCLR (gaussian) against the adversarial masker (N = 2),
measured side by side in one run, at the paper's input and at the laptop profile.

    python benchmarks/step.py [--threads 2] [--repeats 3] [--sgemm-size 2048]

Goals (issues 3 and 8.2): an advmask step costs at most 1.25x a SimCLR step; the laptop
profile pretrains at least 50 samples/s on 2 cores. The steps of the two methods are interleaved
(one of each per repeat) so that load from other processes hits both alike; the reported
time is the fastest of the repeats (other processes only ever add time), after one warm-up
step each, and the ratio is that of the fastest steps; "paired" is the median over repeats of
the ratio of the two adjacent steps (the one less thrown by a burst of load on one of them).

A step here is one batch of 32 (accumulation 1, shown as "(x1)"); with accumulation each
optimiser step is that many such batches, and the ratio is the same. It is what
`Pretrainer.run_epoch` does for one optimiser step, called piece by piece (`_zero_grad`, the
batch from the cache, `backward`, `_optimizer_step`): the epoch's own bookkeeping (loss sums,
metrics, and for an adversarial run the end-of-epoch mask statistics on a fixed probe) is not
part of the step, and is not timed.

The physical limit: in the same run, interleaved with the steps, the machine's float32 matmul
(`--sgemm-size` square, same thread count; fastest of all calls) gives the FLOP/s the best-case
dense kernel reaches. Each step's work is counted by `benchmarks/flops.py` (FlopCounterMode on
one real step: convolutions, transposed convolutions, linear layers and matmuls, forward and
backward, elementwise work not counted), and reported as achieved GFLOP/s and as a share of
sgemm.

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

try:  # run as a script: benchmarks/ is on sys.path
    import flops
except ImportError:  # imported as benchmarks.step
    from benchmarks import flops

RATIO_GOAL = 1.25  # advmask step time / SimCLR step time (issue 8.2)


def one_step(trainer: Pretrainer, indices) -> None:
    """One optimiser step as `Pretrainer.run_epoch`'s loop takes it (accumulation 1)."""
    trainer._zero_grad()
    x = trainer.cache.batch(indices).to(trainer.device, dtype=torch.float32, non_blocking=True)
    trainer.backward(x)
    trainer._optimizer_step()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def step_seconds(trainer: Pretrainer, indices) -> float:
    _sync(trainer.device)
    start = time.perf_counter()
    one_step(trainer, indices)
    _sync(trainer.device)
    return time.perf_counter() - start


def _train_mode(trainer: Pretrainer) -> Pretrainer:
    for module in (trainer.encoder, trainer.projector, trainer.augmentation):
        module.train()  # as run_epoch sets it
    return trainer


def compare(label: str, profile, masker_width: int, repeats: int, device: str, sgemm: dict) -> dict:
    """Both steps at `profile`, interleaved with one sgemm per repeat (its times join `sgemm`)."""
    cache = RandomCache(n=2 * profile.batch_size, length=profile.length, fs=profile.fs)
    common = dict(seed=0, epochs=10**6, patience=10**6, accumulation=1, max_steps_per_epoch=1, device=device,
                  masker_width=masker_width)
    simclr = _train_mode(Pretrainer(PretrainConfig.from_profile(profile, augmentation="gaussian", **common), cache))
    advmask = _train_mode(Pretrainer(
        PretrainConfig.from_profile(profile, augmentation="advmask", n_masks=2, **common), cache))
    batch = profile.batch_size
    indices = list(range(batch))
    work = {name: flops.count_flops(lambda t=t: one_step(t, indices))
            for name, t in (("simclr", simclr), ("advmask", advmask))}
    step_seconds(simclr, indices), step_seconds(advmask, indices)  # warm-up
    times = {"simclr": [], "advmask": []}
    for _ in range(repeats):
        times["simclr"].append(step_seconds(simclr, indices))
        times["advmask"].append(step_seconds(advmask, indices))
        sgemm["seconds"].append(flops.sgemm_seconds(*sgemm["operands"], out=sgemm["out"]))
    s, a = min(times["simclr"]), min(times["advmask"])
    paired = statistics.median(t_a / t_s for t_s, t_a in zip(times["simclr"], times["advmask"]))
    return {"label": label, "input": f"12 x {profile.length}, batch {batch} (x1), width {profile.width}, "
            f"masker {masker_width}", "simclr_s": s, "advmask_s": a, "ratio": a / s, "paired": paired,
            "simclr_samples_per_s": batch / s, "advmask_samples_per_s": batch / a,
            "simclr_flops": work["simclr"], "advmask_flops": work["advmask"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2, the laptop target)")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per method after one warm-up (default 3)")
    parser.add_argument("--laptop-repeats", type=int, default=8, help="timed steps per method at laptop size")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--skip-paper", action="store_true", help="only the laptop profile")
    parser.add_argument("--masker-width", type=int, help="U-Net width for both rows (default: each profile's)")
    parser.add_argument("--sgemm-size", type=int, default=2048, help="n of the float32 n x n matmul (default 2048)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    operands = flops.sgemm_operands(args.sgemm_size, args.device)
    sgemm = {"operands": operands, "out": torch.empty_like(operands[0]), "seconds": []}
    for _ in range(3):  # the first warms up; all count (the fastest is the limit)
        sgemm["seconds"].append(flops.sgemm_seconds(*operands, out=sgemm["out"]))
    rows = []
    if not args.skip_paper:
        rows.append(compare("paper", PAPER, args.masker_width or PAPER.masker_width, args.repeats, args.device, sgemm))
    rows.append(compare("laptop", LAPTOP, args.masker_width or LAPTOP.masker_width, args.laptop_repeats, args.device,
                        sgemm))
    limit = flops.sgemm_flops(args.sgemm_size) / min(sgemm["seconds"])

    print(f"one optimiser step, torch threads = {args.threads}, device = {args.device}, "
          f"torch {torch.__version__}; fastest of {args.repeats} (paper) / {args.laptop_repeats} (laptop) steps; "
          f"{time.perf_counter() - started:.0f} s in all; 1-min load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (on {os.cpu_count()} CPUs)")
    print(f"{'profile':<10}{'input':<52}{'SimCLR s':>10}{'advmask s':>11}{'ratio':>8}{'paired':>8}{'SimCLR/s':>10}"
          f"{'adv/s':>8}")
    for r in rows:
        print(f"{r['label']:<10}{r['input']:<52}{r['simclr_s']:>10.3f}{r['advmask_s']:>11.3f}{r['ratio']:>8.2f}"
              f"{r['paired']:>8.2f}{r['simclr_samples_per_s']:>10.1f}{r['advmask_samples_per_s']:>8.1f}")
    print(f"\nsgemm {args.sgemm_size}^3 float32: {limit / 1e9:.1f} GFLOP/s (fastest of {len(sgemm['seconds'])}, "
          f"median {flops.sgemm_flops(args.sgemm_size) / statistics.median(sgemm['seconds']) / 1e9:.1f})")
    print(f"{'profile':<10}{'step':<10}{'GFLOP/step':>12}{'GFLOP/s':>10}{'of sgemm':>10}")
    for r in rows:
        for name in ("simclr", "advmask"):
            rate = r[f"{name}_flops"] / r[f"{name}_s"]
            print(f"{r['label']:<10}{name:<10}{r[f'{name}_flops'] / 1e9:>12.2f}{rate / 1e9:>10.1f}"
                  f"{rate / limit:>10.0%}")
    worst = max(r["ratio"] for r in rows)
    laptop = rows[-1]
    print(f"goal advmask <= {RATIO_GOAL}x SimCLR: worst ratio {worst:.2f} -> "
          f"{'met' if worst <= RATIO_GOAL else 'NOT met'}")
    print(f"goal laptop >= 50 samples/s: SimCLR {laptop['simclr_samples_per_s']:.1f}, "
          f"advmask {laptop['advmask_samples_per_s']:.1f} -> "
          f"{'met' if min(laptop['simclr_samples_per_s'], laptop['advmask_samples_per_s']) >= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
