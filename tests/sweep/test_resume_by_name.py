"""`sweep/run.py --resume --name X` alone continues X with the options of its plan.json;
`--list` prints the sweeps under the storage with their state."""

from __future__ import annotations

import json

import pytest

from sweep import run
from sweep.checks import BadArgument
from sweep.resume_guard import IN_FORCE_KEY
from sweep.store.lock import acquire

FIRST = ["--space", "augmentations", "--profile", "smoke", "--rows", "scratch,random", "--seeds", "3",
         "--fractions", "0.1", "--set", "pretrain.lr=0.002", "--set", "epochs=1"]


def stored_sweep(storage, name="x", argv=FIRST):
    """A sweep's plan.json as the driver writes it (pipeline.write_plan's entries)."""
    command = run.check_command(run.parse_args([*argv, "--storage", str(storage), "--name", name]))
    body = {**command.plan.to_json(), IN_FORCE_KEY: command.in_force(None)}
    (storage / name).mkdir(parents=True)
    (storage / name / "plan.json").write_text(json.dumps(body))
    return command


def test_resume_by_name_alone_takes_every_option_from_the_plan(tmp_path):
    first = stored_sweep(tmp_path)
    again = run.check_command(run.parse_args(["--resume", "--name", "x", "--storage", str(tmp_path)]))
    assert again.plan.space == "augmentations" and again.profile == first.profile
    assert again.seeds == first.seeds == (3,)
    assert again.plan.to_json() == first.plan.to_json()
    assert again.settings.to_json() == first.settings.to_json()


def test_an_option_given_with_resume_by_name_is_compared(tmp_path):
    stored_sweep(tmp_path)
    with pytest.raises(BadArgument, match=r"differs from plan.json: seeds 3 -> 4"):
        run.check_command(run.parse_args(["--resume", "--name", "x", "--seeds", "4", "--storage", str(tmp_path)]))
    with pytest.raises(BadArgument, match=r"pretrain.lr 0.002 -> 0.003"):
        run.check_command(run.parse_args(["--resume", "--name", "x", "--set", "pretrain.lr=0.003", "--set", "epochs=1",
                                          "--storage", str(tmp_path)]))


def test_space_is_required_without_resume_by_name(capsys):
    with pytest.raises(SystemExit):
        run.parse_args(["--name", "x"])
    assert "required: --space" in capsys.readouterr().err


def test_list_prints_each_sweep_with_its_state(tmp_path, capsys):
    stored_sweep(tmp_path, "interrupted")
    finished = stored_sweep(tmp_path, "finished", ["--space", "augmentations", "--profile", "smoke", "--rows", "scratch",
                                                   "--seeds", "3", "--fractions", "0.1"])
    for stage in ("pretrain", "probe"):
        (tmp_path / "finished" / "done" / stage).mkdir(parents=True)
        for t in getattr(finished.plan, stage):
            (tmp_path / "finished" / "done" / stage / f"{t['key']}.json").write_text("{}")
    stored_sweep(tmp_path, "running")
    lock = acquire(str(tmp_path / "running"))
    try:
        assert run.main(["--list", "--storage", str(tmp_path)]) == 0
    finally:
        lock.release()
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "finished (" in lines["finished"]
    assert "interrupted (0/" in lines["interrupted"]
    assert "running (driver pid" in lines["running"]


def test_resume_with_no_sweep_named_lists_the_sweeps(tmp_path, capsys):
    stored_sweep(tmp_path, "mine")
    with pytest.raises(SystemExit) as exit_:
        run.main(["--resume", "--storage", str(tmp_path)])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert "mine" in captured.out and "interrupted" in captured.out
    assert "pass --name" in captured.err


def test_the_settings_come_back_from_in_force_alone(tmp_path):
    """plan.json keeps the settings once (in_force): a profile value equal to the named
    profile's is not turned into a --set, one that differs is, and so are pretrain.* / probe.*."""
    first = stored_sweep(tmp_path, argv=["--space", "augmentations", "--profile", "smoke", "--rows", "scratch", "--seeds", "3",
                                         "--fractions", "0.1", "--set", "epochs=1", "--set", "probe.lr=0.05"])
    args = run.parse_args(["--resume", "--name", "x", "--storage", str(tmp_path)])
    run.take_from_plan(args)
    assert sorted(args.set) == ["probe.lr=0.05", "profile.epochs=1"]
    again = run.check_command(run.parse_args(["--resume", "--name", "x", "--storage", str(tmp_path)]))
    assert again.profile == first.profile and again.overrides == {"epochs": 1} and again.settings.probe == {"lr": 0.05}
