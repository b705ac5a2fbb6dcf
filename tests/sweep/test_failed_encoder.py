"""A pretraining trial that fails: its probes are skipped (no work, the encoder's error as
theirs), and Table 1's notes name the pretraining failure, not a missing input. And
make_table1.py on a sweep whose driver still runs says so, without Ray's warnings about
the trials that have no results yet."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import ecgmask_tests_ray_fixture as ray_fixture  # registered by tests/conftest.py
import pytest

from ecgmask.profiles import LAPTOP
from search_spaces.plan import Row, grid_plan
from sweep.pipeline import run_sweep
from sweep.resources import TrialResources
from sweep.store import files as store
from sweep.store.layout import PROBE
from sweep.store.lock import acquire
from sweep.summary import failure_lines
from trainables.context import TrialContext

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def swept(ray_session, tmp_path_factory):
    """(context, outcome) of a small stand-in sweep: one good row, one whose loss is NaN."""
    tmp_path = tmp_path_factory.mktemp("failed-encoder")
    with ray_fixture.load_standin().installed() as standin:
        rows = [Row("gaussian", augmentation="gaussian"), Row("mask", augmentation="mask", params={"nan_at_epoch": 1})]
        plan = grid_plan(space="t", profile="laptop", rows=rows, seeds=(1,), tasks=("sex",), fractions=(1.0,))
        data = {"pretrain": standin.make_cache(tmp_path / "pre"), "downstream": standin.make_cache(tmp_path / "down")}
        context = TrialContext(sweep_dir=str(tmp_path / "sweep"), profile=LAPTOP.with_overrides(epochs=2), data=data, cpus=1)
        out = run_sweep(plan, context=context, resources=TrialResources(1, 0), max_concurrent=2, verbose=0)
    return context, out


def test_the_probes_of_a_failed_encoder_are_skipped_with_its_error(swept):
    context, out = swept
    error = out.failed["probe/mask-s1-sex-f1"]
    assert "SkippedInput" in error and "nt_xent is nan at epoch 1" in error and "did not finish" not in error
    assert store.starts(context.layout, PROBE, "mask-s1-sex-f1") == 0  # the probe did no work
    summary = "\n".join(failure_lines(out.failed, context.sweep_dir))
    assert "skipped trials" in summary and "probe/mask-s1-sex-f1: pretraining trial 'mask-s1' failed: FloatingPointError" in summary

    from analysis.make_table1 import render_table1

    table = render_table1([context.sweep_dir])
    assert "nt_xent is nan at epoch 1" in table and "MissingInput" not in table


def test_make_table1_on_a_running_sweep_says_so_quietly(swept, tmp_path, capfd):
    from analysis import make_table1

    context, _ = swept
    sweep = tmp_path / "running"
    shutil.copytree(context.sweep_dir, sweep)
    for trial in (sweep / PROBE).glob("gaussian*"):  # a probe that has not reported yet
        for name in ("result.json", "progress.csv"):
            (trial / name).unlink(missing_ok=True)
    lock = acquire(str(sweep))  # this process is the sweep's driver
    try:
        make_table1.main(["--sweep", str(sweep)])
    finally:
        lock.release()
    err = capfd.readouterr().err
    assert f"sweep still running (driver pid {os.getpid()} on host {socket.gethostname()})" in err
    assert "FileNotFoundError" not in err and "Failed to fetch metrics" not in err

    make_table1.main(["--sweep", str(sweep)])  # the driver is gone: no such line
    assert "still running" not in capfd.readouterr().err
