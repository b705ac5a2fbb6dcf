"""A driver SIGKILLed during pretraining leaves its Ray session's agents running; the next
driver of the same sweep (--resume) ends them, and only them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep.leftovers import end_leftovers, record_session, session_processes
from sweep.store import files as store
from sweep.store.layout import PRETRAIN, SweepLayout

ROOT = Path(__file__).resolve().parents[2]


def _sleeper(tmp_path: Path, name: str) -> subprocess.Popen:
    """A process holding a file open in a folder, as a Ray agent holds its session's logs."""
    folder = tmp_path / name / "logs"
    folder.mkdir(parents=True)
    return subprocess.Popen([sys.executable, "-c", f"f = open({str(folder / 'agent.log')!r}, 'w'); import time; time.sleep(600)"])


def test_only_the_recorded_sessions_processes_are_ended(tmp_path):
    ours, other = _sleeper(tmp_path, "session_ours"), _sleeper(tmp_path, "session_other")
    try:
        deadline = time.monotonic() + 30
        while not session_processes(str(tmp_path / "session_other")) and time.monotonic() < deadline:
            time.sleep(0.1)
        sweep = tmp_path / "sweep"
        record_session(str(sweep), str(tmp_path / "session_ours"))
        store.write_json(str(sweep / "ray_cluster.json"), {**store.read_json(str(sweep / "ray_cluster.json")), "driver_pid": 999999999})
        said = []
        assert end_leftovers(str(sweep), announce=said.append) == [ours.pid]
        assert ours.wait(timeout=30) is not None and other.poll() is None  # another session is never touched
        assert "leftover" in said[0] and not (sweep / "ray_cluster.json").exists()
    finally:
        for proc in (ours, other):
            proc.kill()
            proc.wait()


def _command(storage: Path, *extra: str) -> list[str]:
    return [
        sys.executable, str(ROOT / "sweep" / "run.py"), "--space", "augmentations", "--profile", "smoke",
        "--rows", "gaussian", "--tasks", "sex", "--fractions", "1.0", "--seeds", "1", "--num-cpus", "2",
        "--no-dashboard", "--quiet", "--storage", str(storage), "--name", "killed",
        "--set", "pretrain_records=40", "--set", "downstream_records=80",
        "--set", "profile.epochs=20", "--set", "profile.patience=1000", *extra,
    ]


@pytest.mark.slow
def test_the_next_driver_ends_the_agents_a_killed_driver_left(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(OMP_NUM_THREADS="1", RAY_AUTH_MODE="disabled")
    storage = tmp_path / "results"
    sweep = SweepLayout(storage / "killed")
    log = tmp_path / "first.txt"
    first = subprocess.Popen(_command(storage), stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True)
    session = None
    try:
        deadline = time.monotonic() + 300
        while store.starts(sweep, PRETRAIN, "gaussian-s1") < 1:
            assert first.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        session = store.read_json(os.path.join(sweep.root, "ray_cluster.json"))["session_dir"]
        first.kill()  # SIGKILL, the driver only
        first.wait(timeout=30)
        time.sleep(2)
        left = session_processes(session)
        assert left, "a SIGKILLed driver left nothing: nothing to test"
        log2 = tmp_path / "second.txt"
        second = subprocess.Popen(_command(storage, "--resume"), stdout=open(log2, "w"), stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True)
        try:
            while "sweep 'killed'" not in log2.read_text():  # the next driver has started its own cluster
                assert second.poll() is None and time.monotonic() < deadline + 300, log2.read_text()[-3000:]
                time.sleep(0.2)
            assert session_processes(session) == []
            assert f"leftover process(es) of the killed driver's Ray session {session}" in log2.read_text()
            second.send_signal(signal.SIGINT)  # the rest of the sweep is not this test's business
            assert second.wait(timeout=120) == 130, log2.read_text()[-3000:]
        finally:
            try:
                os.killpg(second.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        if session:
            for pid in session_processes(session):  # our own test's leftovers, if the check failed
                os.kill(pid, signal.SIGKILL)
        try:
            os.killpg(first.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
