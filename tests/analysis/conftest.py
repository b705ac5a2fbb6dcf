"""A small stored sweep, made once per test session by the real sweep pipeline.

`sweep.pipeline.run_sweep` runs a tiny grid (3 rows x 3 seeds x 2 tasks x 2 fractions) on the
stand-in core of tests/standin_core.py (instant, deterministic numbers), so the analysis reads
exactly the directory layout and Tune experiments that `sweep/run.py` writes. One probe
trial fails on purpose and one (row, task, fraction, seed) is left out of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ecgmask_tests_ray_fixture as ray_fixture  # registered by tests/conftest.py
import pytest


SEEDS = (0, 1, 2)
TASKS = ("arrhythmia", "sex")
FRACTIONS = (1.0, 0.1)
# the trial that fails on purpose and the one never planned
FAILED = ("advmask", "sex", 0.1, 2)
MISSING = ("peakmask", "arrhythmia", 1.0, 1)


@dataclass
class StoredSweep:
    path: Path  # the sweep directory (holds plan.json, pretrain/, probe/)
    failed: tuple
    missing: tuple


@pytest.fixture(scope="session")
def stored_sweep(ray_session, tmp_path_factory) -> StoredSweep:
    from ecgmask.profiles import LAPTOP
    from search_spaces.plan import Row, grid_plan
    from sweep.pipeline import run_sweep
    from trainables.context import TrialContext
    from sweep.resources import TrialResources

    standin = ray_fixture.load_standin()
    root = tmp_path_factory.mktemp("analysis-sweep")
    # the stand-in's accuracy is 0.5 + 0.01 * ((seed + epochs * lr * 1e4) % 10) + 0.1 * fraction:
    # different learning rates give the rows different, seed-dependent numbers
    rows = [
        Row("scratch", mode="scratch"),
        Row("peakmask", augmentation="peakmask", params={"lr": 4e-4}),
        Row("advmask", augmentation="advmask", params={"lr": 1e-4}),
    ]
    plan = grid_plan(space="analysis-test", profile="laptop", rows=rows, seeds=SEEDS, tasks=TASKS, fractions=FRACTIONS)

    def ident(t):
        return (t["row"], t["task"], float(t["fraction"]), int(t["seed"]))

    plan.probe[:] = [t for t in plan.probe if ident(t) != MISSING]
    for t in plan.probe:
        if ident(t) == FAILED:
            t["probe"]["fail"] = True
    data = {"pretrain": standin.make_cache(root / "pre"), "downstream": standin.make_cache(root / "down")}
    sweep_dir = root / "results" / "tiny"
    context = TrialContext(sweep_dir=str(sweep_dir), profile=LAPTOP.with_overrides(epochs=2), data=data, cpus=1)
    with standin.installed():
        out = run_sweep(plan, context=context, resources=TrialResources(0.5, 0), max_concurrent=4, verbose=0)
    assert list(out.failed) == ["probe/advmask-s2-sex-f0.1"], out.failed
    return StoredSweep(path=sweep_dir, failed=FAILED, missing=MISSING)
