"""A full disk is named (errno 28, the path, the free space), and a stage that clearly does
not fit is refused before it starts. Uses a small tmpfs (needs root and mount; skipped
with the reason otherwise)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest
import torch

from ecgmask.profiles import SMOKE
from search_spaces import get_space
from sweep import disk, run
from sweep.summary import failure_lines
from trainables.context import TrialContext


@contextlib.contextmanager
def tmpfs(path, size: str):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or 'mount failed'}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _torch_save_error(path) -> str:
    """What torch.save says when the file system fills up under it."""
    try:
        torch.save({"state": torch.zeros(2**20)}, path / "state.pt")  # 4 MiB on a 1 MiB file system
    except Exception as err:  # noqa: BLE001 - whatever torch makes of ENOSPC
        return f"{type(err).__name__}: {err}".splitlines()[0]
    pytest.fail("torch.save of 4 MiB fitted on a 1 MiB tmpfs")


def test_a_write_error_on_a_full_disk_is_named_in_the_summary(tmp_path):
    with tmpfs(tmp_path / "small", "1m") as small:
        error = _torch_save_error(small)
        assert "No space left on device" not in error  # torch does not say it: that is the problem
        sweep = str(small / "sweep")
        lines = failure_lines({"pretrain/advmask-s1": error}, sweep)
    assert lines[0] == "failed trials:"
    assert "no space left on device (errno 28) at " + str(small) in lines[1]
    assert "free of 1.0 MiB" in lines[1] and error in lines[1]


def test_an_unrelated_error_is_left_as_it_is(tmp_path):
    assert disk.explain("ValueError: bad config", str(tmp_path)) == "ValueError: bad config"
    with tmpfs(tmp_path / "roomy", "1g") as roomy:  # a write error on a file system with room is not a full disk
        assert disk.explain("RuntimeError: basic_ios::clear: iostream error", str(roomy)) == "RuntimeError: basic_ios::clear: iostream error"


def test_a_stage_that_clearly_does_not_fit_is_refused_in_one_line(tmp_path):
    plan = get_space("augmentations").plan("smoke", (1,)).select(rows=["advmask"], tasks=["sex"], fractions=[1.0])
    with tmpfs(tmp_path / "small", "1m") as small:
        context = TrialContext(sweep_dir=str(small / "sweep"), profile=SMOKE, data={"pretrain": "-", "downstream": "-"}, cpus=1)
        with pytest.raises(disk.NotEnoughSpace) as refused:
            disk.check_stage("pretrain", plan.pretrain, context)
        disk.check_stage("pretrain", [], context)  # nothing to write: nothing to refuse
    message = str(refused.value)
    assert "\n" not in message and f"not enough disk space at {small}" in message and "free of 1.0 MiB" in message


@pytest.mark.slow
def test_the_driver_refuses_the_stage_before_any_trial(ray_session, tmp_path, capsys, monkeypatch):
    cache = str(tmp_path / "synthetic")  # never read: the stage is refused first
    monkeypatch.setattr(run, "default_data", lambda profile: {"pretrain": cache, "downstream": cache})
    with tmpfs(tmp_path / "small", "2m") as small:
        code = run.main(["--space", "augmentations", "--profile", "smoke", "--rows", "advmask", "--tasks", "sex", "--fractions", "1",
                         "--seeds", "1", "--storage", str(small), "--name", "full", "--quiet"])
        assert not (small / "full" / "pretrain").exists()
    assert code == 2
    assert "pretrain: not enough disk space at" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sweep_that_fills_its_disk_says_so_in_the_summary(tmp_path):
    """The stage fits the estimate (3.4 MiB for a smoke `gaussian` trial), but the kept
    checkpoints (about 1.8 MB each, two kept plus one staged) fill the 4 MiB tmpfs."""
    import sys

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(OMP_NUM_THREADS="1", RAY_AUTH_MODE="disabled")
    with tmpfs(tmp_path / "small", "4m") as small:
        done = subprocess.run(
            [sys.executable, str(root / "sweep" / "run.py"), "--space", "augmentations", "--profile", "smoke", "--rows", "gaussian",
             "--tasks", "sex", "--fractions", "1.0", "--seeds", "1", "--num-cpus", "2", "--no-dashboard", "--quiet",
             "--storage", str(small), "--name", "full", "--set", "pretrain_records=40", "--set", "downstream_records=80",
             "--set", "profile.epochs=20", "--set", "profile.patience=1000"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=400, start_new_session=True,
        )
    out = done.stdout
    assert done.returncode == 1, (out + done.stderr)[-3000:]
    failed = out.split("failed trials:")[1].splitlines()[1]
    assert failed.startswith(f"  pretrain/gaussian-s1: no space left on device (errno 28) at {small}") and "free of 4.0 MiB" in failed, out[-3000:]
    assert "probe/gaussian-s1-sex-f1: pretraining trial 'gaussian-s1' failed: no space left on device" in out
