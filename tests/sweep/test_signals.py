"""Ctrl-C (SIGINT) and SIGTERM to a real sweep/run.py during pretraining: the sweep stops
(no probe starts), says in one line how to resume, exits 130 / 143; the printed --resume
command then finishes with the same results and Table 1 as an uninterrupted run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep.signals import Interrupted, resume_command
from sweep.store import files as store
from sweep.store.layout import PRETRAIN, PROBE, SweepLayout

ROOT = Path(__file__).resolve().parents[2]
PRETRAIN_KEY, PROBE_KEY = "gaussian-s1", "gaussian-s1-sex-f1"


def test_the_exit_status_and_the_resume_command():
    assert Interrupted(signal.SIGINT).exit_status == 130 and Interrupted(signal.SIGTERM).exit_status == 143
    argv = ["sweep/run.py", "--space", "augmentations", "--set", "pretrain.lr=3e-4", "--rows", "a b"]
    assert resume_command(argv, "x") == "python sweep/run.py --space augmentations --set pretrain.lr=3e-4 --rows 'a b' --name x --resume"
    assert resume_command([*argv, "--name", "y", "--resume"], "y").endswith("--name y --resume")


def test_the_handlers_are_ours_inside_and_the_previous_ones_after():
    from sweep import signals

    before = signal.getsignal(signal.SIGTERM)
    with signals.installed():
        assert signal.getsignal(signal.SIGTERM) is signals._handle and os.environ[signals.TUNE_SIGINT_ENV] == "1"
        with pytest.raises(Interrupted) as stop:  # outside a stage a signal stops at once
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        assert stop.value.exit_status == 143
    assert signal.getsignal(signal.SIGTERM) is before and signals.TUNE_SIGINT_ENV not in os.environ
    signals.check()  # the signal is not remembered after: a later sweep in this process is not interrupted


def _command(storage: Path, name: str) -> list[str]:
    return [
        sys.executable, str(ROOT / "sweep" / "run.py"), "--space", "augmentations", "--profile", "smoke",
        "--rows", "gaussian", "--tasks", "sex", "--fractions", "1.0", "--seeds", "1", "--num-cpus", "2",
        "--no-dashboard", "--quiet", "--storage", str(storage), "--name", name,
        "--set", "pretrain_records=40", "--set", "downstream_records=80",
        "--set", "profile.epochs=20", "--set", "profile.patience=1000",
    ]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(OMP_NUM_THREADS="1", RAY_AUTH_MODE="disabled", PYTHONUNBUFFERED="1")
    return env


def _run(command: list[str], log: Path, cwd: Path, timeout: float = 400) -> int:
    proc = subprocess.Popen(command, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=_env(), cwd=cwd, start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    finally:
        _end_group(proc)


def _end_group(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever the driver's session left (it started it)
    except ProcessLookupError:
        pass


def _interrupt_during_pretraining(tmp_path: Path, signum: int) -> tuple[int, str, SweepLayout]:
    storage = tmp_path / "results"
    sweep = SweepLayout(storage / "sig")
    log = tmp_path / "interrupted.txt"
    proc = subprocess.Popen(_command(storage, "sig"), stdout=open(log, "w"), stderr=subprocess.STDOUT, env=_env(), cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while store.starts(sweep, PRETRAIN, PRETRAIN_KEY) < 1:  # the pretraining trial is working
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        os.kill(proc.pid, signum)  # the driver only, as a scheduler's SIGTERM would
        code = proc.wait(timeout=180)
    finally:
        _end_group(proc)
    return code, log.read_text(), sweep


@pytest.mark.slow
def test_sigterm_during_pretraining_stops_the_sweep_with_143(tmp_path):
    code, out, sweep = _interrupt_during_pretraining(tmp_path, signal.SIGTERM)
    assert code == 143, out[-3000:]
    assert not os.path.exists(sweep.experiment(PROBE)) and store.starts(sweep, PROBE, PROBE_KEY) == 0, out[-3000:]
    lines = [ln for ln in out.splitlines() if "--resume" in ln]
    assert len(lines) == 1 and "interrupted by SIGTERM" in lines[0], out[-3000:]


@pytest.mark.slow
def test_ctrl_c_during_pretraining_stops_and_resume_finishes_like_an_uninterrupted_run(tmp_path):
    code, out, sweep = _interrupt_during_pretraining(tmp_path, signal.SIGINT)
    assert code == 130, out[-3000:]
    assert not os.path.exists(sweep.experiment(PROBE)) and store.starts(sweep, PROBE, PROBE_KEY) == 0, out[-3000:]
    lines = [ln for ln in out.splitlines() if "--resume" in ln]
    assert len(lines) == 1 and "interrupted by SIGINT" in lines[0], out[-3000:]

    resume = re.search(r"Resume with: (.*)$", lines[0]).group(1).split()
    assert resume[0] == "python" and resume[-1] == "--resume"
    assert _run([sys.executable, *resume[1:]], tmp_path / "resumed.txt", tmp_path) == 0, (tmp_path / "resumed.txt").read_text()[-3000:]
    assert _run(_command(tmp_path / "results", "plain"), tmp_path / "plain.txt", tmp_path) == 0, (tmp_path / "plain.txt").read_text()[-3000:]

    plain = SweepLayout(tmp_path / "results" / "plain")
    timing = [ln for ln in (tmp_path / "plain.txt").read_text().splitlines() if ln.startswith("time: corpus ")]
    assert len(timing) == 1 and ", pretrain " in timing[0] and ", probe " in timing[0] and timing[0].endswith("(this driver)"), timing
    stored = store.read_json(plain.plan)  # the settings are stored once, under in_force
    assert "settings" not in stored and "profile_overrides" not in stored and stored["in_force"]["set"]["epochs"] == 20
    for stage, key, metric in ((PRETRAIN, PRETRAIN_KEY, "nt_xent"), (PROBE, PROBE_KEY, "test_accuracy")):
        resumed_value = store.read_json(sweep.done(stage, key))["result"][metric]
        assert resumed_value == store.read_json(plain.done(stage, key))["result"][metric], (stage, metric)

    from analysis.make_table1 import render_table1

    def table(layout):
        return render_table1([layout.root]).replace(str(layout.root), "SWEEP").split("Provenance")[0]

    assert table(sweep) == table(plain)
