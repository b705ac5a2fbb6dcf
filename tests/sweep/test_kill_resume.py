"""A sweep whose driver is SIGKILLed, restarted with --resume, completes: every trial of the
plan has exactly one final result and no trial that had finished runs again. Real processes:
the driver is a subprocess with its own local Ray cluster."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep.store.layout import PRETRAIN, PROBE, SweepLayout
from sweep.store import files as store

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
DRIVER = HERE / "kill_resume_driver.py"


def _plan(marker):
    spec = importlib.util.spec_from_file_location("kill_resume_driver", DRIVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.plan(marker)


def _start(storage, marker, *extra):
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log = open(Path(storage) / f"driver{len(extra)}.log", "w")
    return subprocess.Popen(
        [sys.executable, str(DRIVER), str(storage), str(marker), *extra],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )


def _done(sweep: SweepLayout, stage):
    return {n[: -len(".json")] for n in store.list_names(sweep.done_dir(stage)) if n.endswith(".json")}


def _kill_group(proc):
    for sig in (signal.SIGKILL,):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass


def test_killed_sweep_resumes_without_rerunning_finished_trials(tmp_path):
    marker = tmp_path / "marker.txt"
    plan = _plan(str(marker))
    sweep = SweepLayout(tmp_path / "kill")  # the driver's sweep_dir(storage, "kill")

    first = _start(tmp_path, marker)
    deadline = time.monotonic() + 400
    try:
        while len(_done(sweep, PROBE)) < 3:
            assert first.poll() is None, (tmp_path / "driver0.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.2)
        os.kill(first.pid, signal.SIGKILL)  # the driver only, as a crash would
        first.wait(timeout=30)
    finally:
        time.sleep(2)
        _kill_group(first)  # then whatever it left behind
    assert first.returncode == -signal.SIGKILL

    finished_pretrain, finished_probe = _done(sweep, PRETRAIN), _done(sweep, PROBE)
    assert 3 <= len(finished_probe) < len(plan.probe), "kill should land in the middle of the probes"

    second = _start(tmp_path, marker, "--resume")
    try:
        assert second.wait(timeout=500) == 0, (tmp_path / "driver1.log").read_text()[-3000:]
    finally:
        _kill_group(second)

    from ray.tune import ExperimentAnalysis

    for stage, trials in ((PRETRAIN, plan.pretrain), (PROBE, plan.probe)):
        analysis = ExperimentAnalysis(sweep.experiment(stage))
        keys = [t.config["key"] for t in analysis.trials]
        assert sorted(keys) == sorted(t["key"] for t in trials)  # one Tune trial per planned trial
        assert {t.status for t in analysis.trials} == {"TERMINATED"}
        frame = analysis.dataframe()
        assert len(frame) == len(trials)
        metric = "nt_xent" if stage == PRETRAIN else "test_accuracy"
        assert frame[metric].notna().all()
    # finished trials never started work again; every trial started at least once
    for stage, finished, trials in ((PRETRAIN, finished_pretrain, plan.pretrain), (PROBE, finished_probe, plan.probe)):
        for t in trials:
            n = store.starts(sweep, stage, t["key"])
            assert n == 1 if t["key"] in finished else n >= 1, (stage, t["key"], n)
    lines = marker.read_text().splitlines()
    for key in finished_pretrain:
        aug, seed = key.split("-s")
        assert sum(ln.startswith(f"pretrain {aug}-{seed} ") for ln in lines) == 1
