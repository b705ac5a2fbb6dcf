"""One driver per sweep: a second driver is refused in one line before Ray starts; a lock left
by a dead driver is taken over with a message."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ecgmask.profiles import LAPTOP
from search_spaces import get_space
from search_spaces.plan import DEFAULT_SEEDS
from sweep import run
from sweep.store import lock
from sweep.resume_guard import IN_FORCE_KEY, in_force

ROOT = Path(__file__).resolve().parents[3]

HOLDER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from sweep.store.lock import acquire
held = acquire(sys.argv[1])
print("locked", flush=True)
time.sleep(300)
"""


@pytest.fixture
def holder():
    """Another process that holds a sweep's lock (as a running driver does)."""
    procs = []

    def start(sweep_dir) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(sweep_dir), str(ROOT)], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_sweep(sweep_dir: Path) -> None:
    """The plan.json of a laptop `augmentations` sweep on the default study, default seeds."""
    plan = get_space("augmentations").plan("laptop", DEFAULT_SEEDS)
    sweep_dir.mkdir(parents=True)
    body = {**plan.to_json(), IN_FORCE_KEY: in_force(plan=plan, profile=LAPTOP, data=None, seeds=DEFAULT_SEEDS)}
    (sweep_dir / "plan.json").write_text(json.dumps(body))


@pytest.fixture
def no_ray(monkeypatch):
    import sweep.ray_session

    def connect(*args, **kwargs):
        raise AssertionError("Ray was started")

    monkeypatch.setattr(sweep.ray_session, "connect", connect)


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
def test_a_second_driver_on_a_running_sweep_is_refused_before_ray(tmp_path, holder, capsys, no_ray, dry_run):
    write_sweep(tmp_path / "X")
    first = holder(tmp_path / "X")
    with pytest.raises(SystemExit) as exit_:
        run.main(["--space", "augmentations", "--storage", str(tmp_path), "--name", "X", "--resume"] + (["--dry-run"] if dry_run else []))
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert f"is in use by another driver (pid {first.pid} on host {socket.gethostname()}" in lines[0]


def test_the_lock_is_free_again_when_its_driver_dies(tmp_path, holder):
    first = holder(tmp_path / "X")
    with pytest.raises(lock.SweepBusy):
        lock.acquire(str(tmp_path / "X"))
    first.kill()
    first.wait()
    messages = []
    with lock.acquire(str(tmp_path / "X"), announce=messages.append) as held:
        assert held.held
        assert json.loads(held.path.read_text())["pid"] == os.getpid()
    assert messages == [f"sweep {tmp_path / 'X'}: taking over the stale lock of pid {first.pid} on host {socket.gethostname()}, which is no longer running"]
    assert held.path.read_text() == ""  # released cleanly: the next driver finds no stale lock


def test_a_stale_lock_is_taken_over_with_a_message_by_the_cli(tmp_path, capsys, monkeypatch):
    import sweep.ray_session

    write_sweep(tmp_path / "X")
    pid = dead_pid()
    (tmp_path / "X" / lock.LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), "pid": pid}))
    (tmp_path / "X" / "staging" / "mask-s1@host@1@abc").mkdir(parents=True)  # a killed trial's checkpoint
    monkeypatch.setattr(run, "default_data", lambda profile: pytest.fail("the stored plan names no data: nothing to build"))
    monkeypatch.setattr(sweep.ray_session, "connect", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no Ray in this test")))
    monkeypatch.setattr(run, "given_data", lambda args: {"pretrain": "p", "downstream": "d"})
    monkeypatch.setattr(run.checks, "caches", lambda data: None)
    with pytest.raises(SystemExit):
        run.main(["--space", "augmentations", "--storage", str(tmp_path), "--name", "X", "--resume"])
    err = capsys.readouterr().err
    assert f"taking over the stale lock of pid {pid} on host {socket.gethostname()}, which is no longer running" in err
    assert (tmp_path / "X" / lock.LOCK_NAME).read_text() == ""  # released when the driver ended
    assert not (tmp_path / "X" / "staging").exists()  # removed at the start


def test_a_lock_from_another_host_is_not_taken_over(tmp_path):
    (tmp_path / "X").mkdir()
    (tmp_path / "X" / lock.LOCK_NAME).write_text(json.dumps({"host": "elsewhere.example", "pid": 1}))
    with pytest.raises(lock.SweepBusy, match="pid 1 on host elsewhere.example, which cannot be checked from .*remove the lock file"):
        lock.acquire(str(tmp_path / "X"))


def test_a_dry_run_creates_no_lock(tmp_path):
    lock.check_free(str(tmp_path / "X"))
    assert not (tmp_path / "X").exists()


def test_a_uri_sweep_is_locked_on_this_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(lock.tempfile, "gettempdir", lambda: str(tmp_path))
    path = lock.lock_path("s3://bucket/sweeps/X")
    assert path.parent == tmp_path / "ecgmask-sweep-locks"
    assert lock.lock_path("s3://bucket/sweeps/X/") == path
    with lock.acquire("s3://bucket/sweeps/X"):
        with pytest.raises(lock.SweepBusy):
            lock.acquire("s3://bucket/sweeps/X")
