"""--resume keeps everything in force: a difference from plan.json is refused in one line,
before Ray starts and without touching plan.json; a sweep that does not exist is named."""

from __future__ import annotations

import json

import pytest

from ecgmask.profiles import LAPTOP
from search_spaces import get_space
from search_spaces.plan import DEFAULT_SEEDS
from sweep import run
from sweep.resume_guard import IN_FORCE_KEY, in_force, resume_differences

DATA = {"pretrain": "/data/pretrain-a", "downstream": "/data/downstream-b"}


def stored_plan(*, profile=LAPTOP, seeds=DEFAULT_SEEDS, data=DATA, rows=None) -> dict:
    plan = get_space("augmentations").plan("laptop", seeds)
    if rows:
        plan = plan.select(rows=rows)
    return {**plan.to_json(), "data": data, IN_FORCE_KEY: in_force(plan=plan, profile=profile, data=data, seeds=seeds)}


@pytest.fixture
def sweep(tmp_path):
    """A laptop `augmentations` sweep X (default seeds, epochs 3, caches DATA) under tmp_path."""
    (tmp_path / "X").mkdir()
    path = tmp_path / "X" / "plan.json"
    path.write_text(json.dumps(stored_plan()))
    return path


@pytest.fixture
def no_ray(monkeypatch):
    import sweep.ray_session

    monkeypatch.setattr(sweep.ray_session, "connect", lambda *a, **k: pytest.fail("Ray was started"))


def refused(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exit_:
        run.main(argv)
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    "extra,diff",
    [
        (["--set", "epochs=1"], f"set.epochs {LAPTOP.epochs} -> 1"),
        (["--set", "epochs=1", "--set", "batch_size=16"],
         f"set.batch_size {LAPTOP.batch_size} -> 16; set.epochs {LAPTOP.epochs} -> 1"),
        (["--seeds", "1,10"], "seeds 1,10,42 -> 1,10"),
        (["--rows", "scratch,gaussian"], "rows "),
        (["--tasks", "sex"], "tasks arrhythmia,sex -> sex"),
        (["--fractions", "0.1"], "fractions 0.01,0.1,1.0 -> 0.1"),
        (["--profile", "paper"], "profile laptop -> paper"),
    ],
)
def test_resume_with_other_settings_is_refused_and_plan_json_kept(extra, diff, sweep, capsys, no_ray):
    before = sweep.read_bytes()
    line = refused(capsys, ["--space", "augmentations", "--storage", str(sweep.parent.parent), "--name", "X", "--resume", *extra])
    assert line.startswith("sweep/run.py: error: --resume: differs from plan.json: ")
    assert diff in line
    assert sweep.read_bytes() == before


def test_resume_with_other_data_is_refused(sweep, capsys, no_ray, monkeypatch, tmp_path):
    monkeypatch.setattr(run.checks, "caches", lambda data: None)  # what is compared, not what is opened
    line = refused(capsys, ["--space", "augmentations", "--storage", str(sweep.parent.parent), "--name", "X", "--resume", "--dry-run",
                            "--data", "/data/pretrain-a", "/data/downstream-c"])
    assert line.endswith("--resume: differs from plan.json: data.downstream /data/downstream-b -> /data/downstream-c")


def test_resume_of_a_sweep_that_does_not_exist_names_those_that_do(sweep, capsys, no_ray):
    (sweep.parent.parent / "Y").mkdir()
    (sweep.parent.parent / "Y" / "plan.json").write_text("{}")
    (sweep.parent.parent / "not-a-sweep").mkdir()
    line = refused(capsys, ["--space", "augmentations", "--storage", str(sweep.parent.parent), "--name", "typo", "--resume"])
    assert line.endswith(f"--resume: no sweep 'typo' under {sweep.parent.parent} (sweeps there: X, Y)")
    assert not (sweep.parent.parent / "typo").exists()


def test_a_new_sweep_on_an_existing_name_is_refused(sweep, capsys, no_ray):
    line = refused(capsys, ["--space", "augmentations", "--storage", str(sweep.parent.parent), "--name", "X", "--dry-run"])
    assert "a sweep already exists" in line and "--resume" in line


def test_the_same_settings_resume():
    assert resume_differences(stored_plan(), stored_plan()[IN_FORCE_KEY]) is None


def test_a_plan_json_from_before_in_force_is_still_compared():
    old = stored_plan()
    del old[IN_FORCE_KEY]
    old.update({"profile_overrides": {"epochs": 5}, "seeds": list(DEFAULT_SEEDS)})
    plan = get_space("augmentations").plan("laptop", DEFAULT_SEEDS)
    now = in_force(plan=plan, profile=LAPTOP.with_overrides(epochs=5), data=DATA, seeds=DEFAULT_SEEDS)
    assert resume_differences(old, now) is None
    now = in_force(plan=plan, profile=LAPTOP.with_overrides(epochs=1), data=DATA, seeds=DEFAULT_SEEDS)
    assert resume_differences(old, now) == "--resume: differs from plan.json: set.epochs 5 -> 1"
