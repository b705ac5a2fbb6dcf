"""Ray Tune's overhead on a laptop sweep: the same trials run directly and through Tune.

    python benchmarks/sweep_overhead.py                       # a slice of the augmentations space
    python benchmarks/sweep_overhead.py --rows scratch,gaussian,advmask,random --fractions 1.0,0.1,0.01

Both runs do the same work one trial at a time on one CPU (torch threads 1): the direct run is
a plain loop over the plan calling ecgmask (Pretrainer.run_epoch + save_checkpoint every epoch,
then run_probe on the published encoder); the Tune run is sweep.pipeline.run_sweep with one
trial at a time (1 CPU per trial, reused actors). Prints both wall times and Tune's overhead as
a share of its own wall time (the goal is < 10%). Ray's start-up is timed separately.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="laptop")
    p.add_argument("--rows", default="scratch,gaussian,advmask,random", help="rows of the augmentations space")
    # the sweep's own three seeds: with one, Tune's fixed cost per stage (actor start-up,
    # imports, Tuner set-up) is spread over a third of the trials and dominates
    p.add_argument("--seeds", default="1,10,42")
    p.add_argument("--tasks", default="arrhythmia,sex")
    p.add_argument("--fractions", default="1.0,0.1,0.01")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting, as sweep/run.py --set (an undotted key is a profile field)")
    return p.parse_args(argv)


def direct(plan, profile, data: dict, out: Path) -> float:
    """The plan as a loop: every pretraining run, then every probe."""
    import torch

    from ecgmask.data import EcgCache
    from ecgmask.pretrain import PretrainConfig, Pretrainer
    from ecgmask.transfer import ProbeConfig, run_probe
    from sweep.store.layout import SweepLayout
    from search_spaces.plan import pretrain_fields, probe_fields

    torch.set_num_threads(1)
    start = time.perf_counter()
    pre_cache, down_cache = EcgCache.open(data["pretrain"]), EcgCache.open(data["downstream"])
    for config in plan.pretrain:
        trainer = Pretrainer(PretrainConfig.from_profile(profile, **pretrain_fields(config, PretrainConfig)), pre_cache)
        while True:
            metrics = trainer.run_epoch()
            with tempfile.TemporaryDirectory() as staging:  # what the trainable checkpoints
                trainer.save_checkpoint(staging)
                if metrics["stop"]:
                    trainer.save_checkpoint(SweepLayout(out).encoder(config["key"]))
            if metrics["stop"]:
                break
    for config in plan.probe:
        encoder = SweepLayout(out).encoder(config["pretrain_key"]) if config.get("pretrain_key") else None
        run_probe(ProbeConfig.from_profile(profile, **probe_fields(config, ProbeConfig)), down_cache, encoder)
    return time.perf_counter() - start


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    from ecgmask.data import default_study
    from ecgmask.profiles import get_profile
    from search_spaces import get_space
    from sweep.prepare import study_root
    from sweep.settings import parse

    profile = parse(args.set).resolve_profile(get_profile(args.profile))
    csv = lambda text, cast=str: [cast(t) for t in text.split(",") if t]  # noqa: E731
    plan = get_space("augmentations").plan(args.profile, tuple(csv(args.seeds, int)))
    plan = plan.select(rows=csv(args.rows), tasks=csv(args.tasks), fractions=csv(args.fractions, float))
    study = default_study(study_root(profile.name), profile)
    data = {k: str(Path(v).resolve()) for k, v in study.items()}
    print(f"{len(plan.pretrain)} pretraining + {len(plan.probe)} probing trials, one at a time, 1 CPU", flush=True)

    from ecgmask.data import EcgCache

    for path in data.values():  # both runs start from a warm page cache
        float(EcgCache.open(path).signals.sum(dtype="float64"))

    work = Path(tempfile.mkdtemp(prefix="ecgmask-overhead-"))
    try:
        t_direct = direct(plan, profile, data, work / "direct")
        print(f"direct loop: {t_direct:.1f} s", flush=True)

        import ray

        from sweep.pipeline import run_sweep
        from trainables.context import TrialContext
        from sweep.resources import TrialResources

        t0 = time.perf_counter()
        ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
        t_init = time.perf_counter() - t0
        context = TrialContext(sweep_dir=str(work / "tune"), profile=profile, data=data, cpus=1)
        t0 = time.perf_counter()
        outcome = run_sweep(plan, context=context, resources=TrialResources(1, 0), max_concurrent=1, verbose=0)
        t_tune = time.perf_counter() - t0
        ray.shutdown()
        if outcome.failed:
            print(f"failed trials: {outcome.failed}")
            return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = len(plan.pretrain) + len(plan.probe)
    print(f"through Tune: {t_tune:.1f} s (+ {t_init:.1f} s to start Ray)")
    print(f"overhead: {t_tune - t_direct:.1f} s = {100 * (t_tune - t_direct) / t_tune:.1f}% of Tune's wall time "
          f"({(t_tune - t_direct) / n:.2f} s per trial over {n} trials)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
