"""Checkpoint staging folders live under the sweep they belong to (or, for a URI sweep, are
removed by the next one made on the node once their process is gone), never piling up in /tmp."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import ecgmask_tests_ray_fixture as ray_fixture  # registered by tests/conftest.py
import pytest

from ecgmask.profiles import LAPTOP
from sweep.store.staging import STAGING, clear_staging, new_staging_dir, staging_root
from trainables.context import TrialContext


class Killed(Exception):
    """The trial's process dies here."""


def test_a_killed_pretraining_trial_leaves_its_checkpoint_under_the_sweep(tmp_path, monkeypatch):
    from trainables import loop
    from trainables import pretrain as trainable

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    staged = []

    def report(metrics, checkpoint=None):
        if checkpoint is not None:
            staged.append(Path(checkpoint.path))
            raise Killed  # killed while Tune takes the checkpoint

    with ray_fixture.load_standin().installed() as core:
        monkeypatch.setattr(loop.tune, "get_checkpoint", lambda: None)
        monkeypatch.setattr(loop.tune, "report", report)
        monkeypatch.setattr(loop.shutil, "rmtree", lambda *a, **k: None)  # a killed process cleans nothing
        data = {"pretrain": core.make_cache(tmp_path / "pre"), "downstream": core.make_cache(tmp_path / "down")}
        context = TrialContext(sweep_dir=str(tmp_path / "sweep"), profile=LAPTOP.with_overrides(epochs=2), data=data, cpus=1)
        with pytest.raises(Killed):
            trainable.pretrain_trainable({"key": "mask-s1", "row": "mask", "augmentation": "mask", "seed": 1}, context=context)
    assert staged and staged[0].parent == tmp_path / "sweep" / STAGING
    assert staged[0].is_dir()  # left behind, where the next driver start removes it
    assert list(temp.iterdir()) == []
    monkeypatch.undo()  # rmtree works again
    clear_staging(str(tmp_path / "sweep"))
    assert not (tmp_path / "sweep" / STAGING).exists()


def test_a_uri_sweep_stages_in_the_temp_dir_and_the_next_one_removes_dead_leftovers(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    root = staging_root("s3://bucket/sweeps/X")
    assert root.parent == tmp_path / "ecgmask-staging"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = socket.gethostname()
    dead = root / f"mask-s1@{host}@{gone.pid}@abc"
    alive = root / f"mask-s2@{host}@{os.getpid()}@def"
    elsewhere = root / f"mask-s3@other.example@{gone.pid}@ghi"
    for folder in (dead, alive, elsewhere):
        folder.mkdir(parents=True)
    made = Path(new_staging_dir("s3://bucket/sweeps/X", "mask-s4"))
    assert made.parent == root and made.name.startswith(f"mask-s4@{host}@{os.getpid()}@")
    assert not dead.exists() and alive.exists() and elsewhere.exists()
    clear_staging("s3://bucket/sweeps/X")  # the driver cannot see the nodes' temp dirs: left alone
    assert alive.exists()
