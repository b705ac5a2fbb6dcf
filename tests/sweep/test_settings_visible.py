"""--help lists every settable key with its type and default; --dry-run prints the settings in
force and starts no Ray cluster when none is given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sweep import run
from sweep.help_keys import settable_keys
from sweep.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_listed_key_is_one_set_accepts_and_each_section_is_there():
    keys = {key: (kind, default) for key, kind, default in settable_keys()}
    assert {k.split(".")[0] for k in keys} == {"pretrain", "probe", "profile"}
    assert keys["pretrain.lr"][0] == "float" and keys["probe.subset_seed"] == ("int | None", "None")
    assert "laptop 30" in keys["profile.epochs"][1]
    assert "pretrain.seed" not in keys and "probe.task" not in keys  # the plan's, not settings
    settings = Settings()
    for key, (kind, _) in keys.items():
        settings.set(key, "none" if "None" in kind else {"bool": "true", "str": "x"}.get(kind.split(" ")[0], "1"))


def test_help_shows_the_keys_with_types_and_defaults():
    out = subprocess.run([sys.executable, str(ROOT / "sweep" / "run.py"), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if line.strip().startswith("probe.lr "))
    assert "float" in line and "[0.01]" in line


@pytest.mark.slow
def test_dry_run_prints_the_settings_and_starts_no_ray(tmp_path, capsys, monkeypatch):
    import ray

    import sweep.ray_session

    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as in a fresh driver, whatever an earlier test started
    monkeypatch.setattr(sweep.ray_session, "connect", lambda *a, **k: pytest.fail("Ray was started"))
    assert run.main(["--space", "augmentations", "--profile", "smoke", "--rows", "advmask", "--seeds", "1", "--num-cpus", "3",
                     "--set", "pretrain.lr=0.002", "--dry-run", "--storage", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cluster: 3 CPU" in out and "no Ray cluster started" in out
    assert "profile smoke: fs=100, length=1000" in out
    assert "pretraining trial advmask-s1: augmentation='advmask', seed=1, epochs=2" in out and "lr=0.002" in out
    assert "probe trial advmask-s1-" in out
    assert "dashboard" not in out
