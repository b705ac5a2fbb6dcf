"""sweep/run.py's command line: help, dry run, resource refusal, option parsing, auth mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sweep import run
from sweep.checks import BadArgument
from sweep.ray_session import resolve_auth_mode

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_the_spaces_and_options():
    out = subprocess.run([sys.executable, str(ROOT / "sweep" / "run.py"), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for text in ("--space", "--resume", "--dry-run", "--gpus-per-trial", "--storage", "augmentations:", "tune:"):
        assert text in out.stdout


def test_auth_mode_is_always_explicit_for_a_local_cluster(monkeypatch):
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    assert resolve_auth_mode(None, None) == "disabled"
    assert resolve_auth_mode("auto", None) is None  # joining a cluster: Ray's own (token file) logic
    assert resolve_auth_mode(None, "token") == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    assert resolve_auth_mode(None, None) == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "bogus")
    with pytest.raises(ValueError, match="bogus"):
        resolve_auth_mode(None, None)


@pytest.mark.slow
def test_dry_run_prints_the_plan_and_what_runs_at_once(ray_session, tmp_path, capsys):
    assert run.main(["--space", "augmentations", "--dry-run", "--storage", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "pretraining trials: 33" in out and "probing trials:     234" in out
    assert "1 CPU + no GPU" in out and "-> 2 trials at once" in out
    assert not any(tmp_path.iterdir())  # nothing ran


@pytest.mark.slow
def test_a_gpu_request_the_cluster_cannot_meet_stops_before_any_trial(ray_session, tmp_path, capsys, monkeypatch):
    cache = str(tmp_path / "synthetic")  # no synthetic study is built for this test
    monkeypatch.setattr(run, "default_data", lambda profile: {"pretrain": cache, "downstream": cache})
    assert run.main(["--space", "augmentations", "--gpus-per-trial", "0.25", "--storage", str(tmp_path)]) == 2
    assert "has no GPU" in capsys.readouterr().err
    # nothing but the driver's lock, released: no plan, no trial
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["driver.lock"]


def test_resume_without_a_name_continues_the_latest_sweep(tmp_path):
    for name in ("augmentations-laptop-20260101-000000", "augmentations-laptop-20260102-000000", "masks-laptop-20270101-000000"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "plan.json").write_text("{}")
    (tmp_path / "augmentations-laptop-20990101-000000").mkdir()  # no plan.json: not a sweep
    assert run.default_name(str(tmp_path), "augmentations-laptop", resume=True) == "augmentations-laptop-20260102-000000"
    assert run.default_name(str(tmp_path), "augmentations-laptop", resume=False).startswith("augmentations-laptop-2")
    with pytest.raises(BadArgument, match="no sparsity-laptop"):
        run.default_name(str(tmp_path), "sparsity-laptop", resume=True)
