"""A tiny sweep on the stand-in core, run as its own process by test_kill_resume.py:
`python kill_resume_driver.py SWEEP_STORAGE MARKER [--resume]`. Uses the same
`sweep.pipeline.run_sweep` as sweep/run.py, with a fresh local Ray cluster; the stand-in
replaces ecgmask in the trainables the way the tests do (tests/standin_core.py `installed`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from search_spaces.plan import Row, grid_plan  # noqa: E402


def plan(marker: str):
    pre = {"marker": marker, "epoch_seconds": 0.5}
    probe = {"marker": marker, "seconds": 0.5}
    rows = [
        Row("scratch", mode="scratch", probe_params=probe),
        Row("mask", augmentation="mask", params=pre, probe_params=probe),
        Row("shift", augmentation="shift", params=pre, probe_params=probe),
    ]
    return grid_plan(space="killtest", profile="laptop", rows=rows, seeds=(1, 2), tasks=("sex",), fractions=(1.0, 0.1))


def main() -> int:
    storage, marker = sys.argv[1], sys.argv[2]
    resume = "--resume" in sys.argv
    spec = importlib.util.spec_from_file_location("ecgmask_standin_core", ROOT / "tests" / "standin_core.py")
    core = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = core
    spec.loader.exec_module(core)
    import ray

    from ecgmask.profiles import LAPTOP
    from sweep.store.layout import sweep_dir
    from sweep.pipeline import run_sweep
    from sweep.ray_session import connect
    from trainables.context import TrialContext
    from sweep.resources import TrialResources

    data = {"pretrain": core.make_cache(Path(storage) / "data-pre"), "downstream": core.make_cache(Path(storage) / "data-down")}
    context = TrialContext(sweep_dir=sweep_dir(storage, "kill"), profile=LAPTOP.with_overrides(epochs=3), data=data, cpus=1)
    connect(None, num_cpus=2)
    with core.installed():
        out = run_sweep(plan(marker), context=context, resources=TrialResources(1, 0), max_concurrent=2, resume=resume, verbose=0)
    ray.shutdown()
    print("FAILED", out.failed)
    return 1 if out.failed else 0


if __name__ == "__main__":
    sys.exit(main())
