"""Dotted --set / --config settings: typed, checked against the configs, applied to the plan."""

from __future__ import annotations

import pytest

from ecgmask.profiles import SMOKE
from search_spaces import get_space, names
from sweep import settings
from sweep.settings import SettingsError


def _plan(space="augmentations"):
    plan = get_space(space).plan("smoke", (1,))
    return plan if plan.search is not None else plan.select(rows=["gaussian", "scratch"], tasks=["sex"], fractions=[0.1])


def test_dotted_keys_reach_each_section_with_their_types():
    s = settings.parse(["pretrain.lr=3e-4", "probe.lr=0.01", "profile.epochs=10", "probe_steps=2", "profile.max_steps_per_epoch=none", "probe.standardize=false"])
    assert s.to_json() == {
        "profile": {"epochs": 10, "probe_steps": 2, "max_steps_per_epoch": None},
        "pretrain": {"lr": 3e-4},
        "probe": {"lr": 0.01, "standardize": False},
    }
    assert s.resolve_profile(SMOKE).epochs == 10 and s.resolve_profile(SMOKE).name == "smoke"


def test_a_config_file_takes_the_same_keys_and_set_wins(tmp_path):
    path = tmp_path / "sweep.yaml"
    # YAML reads 3e-4 (no dot) as text: it is cast to the field's float all the same
    path.write_text("pretrain:\n  lr: 3e-4\n  temperature: 0.2\nprobe.lr: 0.05\nprofile:\n  epochs: 4\n")
    s = settings.parse(["profile.epochs=6"], str(path))
    assert s.pretrain == {"lr": 3e-4, "temperature": 0.2}
    assert s.probe == {"lr": 0.05}
    assert s.profile == {"epochs": 6}


@pytest.mark.parametrize(
    "pair, message",
    [
        ("pretrain.no_such=1", "unknown setting 'pretrain.no_such'"),
        ("bogus=1", "use a dotted key"),
        ("model.lr=1", "section must be one of"),
        ("pretrain.lr=fast", "pretrain.lr is a number, not 'fast'"),
        ("profile.epochs=2.5", "profile.epochs is an integer"),
        ("profile.epochs=0", "profile.epochs must be >= 1"),
        ("profile.scratch_lr=nan", "profile.scratch_lr must be a finite number > 0"),
        ("profile.epochs=none", "profile.epochs cannot be none"),
        ("pretrain.seed=3", "set by each trial of the plan"),
        ("probe.task=sex", "set by each trial of the plan"),
        ("profile.epochs", "expected KEY=VALUE"),
    ],
)
def test_a_bad_key_or_value_is_one_line_naming_the_valid_keys(pair, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        settings.parse([pair])
    assert "\n" not in str(err.value)
    if "unknown" in message or "dotted" in message or "section" in message:
        assert "temperature" in str(err.value) or "lr" in str(err.value)  # the valid keys are named


def test_a_bad_config_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("pretrain:\n  lr: [1, 2]\n")
    with pytest.raises(SettingsError, match=f"--config {path}: pretrain.lr"):
        settings.parse([], str(path))
    with pytest.raises(SettingsError, match="no such|No such"):
        settings.parse([], str(tmp_path / "missing.yaml"))


def test_apply_puts_the_overrides_in_every_trial_config_and_validate_builds_them():
    given = _plan()
    plan = settings.parse(["pretrain.lr=3e-4", "pretrain.temperature=0.2", "probe.lr=0.05"]).apply(given)
    assert all(t["pretrain"]["lr"] == 3e-4 and t["pretrain"]["temperature"] == 0.2 for t in plan.pretrain)
    assert all(t["probe"]["lr"] == 0.05 and "lr" not in t.get("pretrain", {}) for t in plan.probe)
    settings.validate(plan, SMOKE)
    assert given == _plan()  # a new plan: the one given is left as it was


def test_validate_refuses_a_value_the_config_refuses_and_an_unknown_augmentation():
    plan = settings.parse(["pretrain.lr=-1"]).apply(_plan())
    with pytest.raises(SettingsError, match="pretraining trial gaussian-s1: .*lr must be positive"):
        settings.validate(plan, SMOKE)
    plan = _plan()
    plan.pretrain[0]["augmentation"] = "gausian"
    with pytest.raises(SettingsError, match="unknown augmentation 'gausian'"):
        settings.validate(plan, SMOKE)
    plan = _plan()
    plan.pretrain[0]["no_such_param"] = 1
    with pytest.raises(SettingsError, match="no_such_param"):
        settings.validate(plan, SMOKE)
    plan = _plan()
    plan.pretrain[0]["pretrain"]["no_such_param"] = 1
    with pytest.raises(SettingsError, match=r"pretraining trial 'gaussian-s1': unknown config key\(s\) \['pretrain.no_such_param'\]"):
        settings.validate(plan, SMOKE)
    plan = _plan()
    plan.probe[0]["probe"]["no_such_param"] = 1
    with pytest.raises(SettingsError, match=r"probe trial .*\['probe.no_such_param'\].*ProbeConfig fields"):
        settings.validate(plan, SMOKE)


def test_a_setting_the_space_varies_or_searches_is_refused():
    with pytest.raises(SettingsError, match="sets it per row"):
        settings.parse(["pretrain.n_masks=3"]).apply(get_space("masks").plan("smoke", (1,)))
    with pytest.raises(SettingsError, match="searches it"):
        settings.parse(["pretrain.lr=1e-3"]).apply(get_space("tune").plan("smoke", (1,)))
    searched = get_space("tune").plan("smoke", (1,))
    tuned = settings.parse(["pretrain.temperature=0.2", "probe.lr=0.05"]).apply(searched)
    assert tuned.search.fixed["pretrain"]["temperature"] == 0.2 and tuned.search.fixed["probe"]["lr"] == 0.05
    assert "temperature" not in searched.search.fixed
    settings.validate(tuned, SMOKE)


@pytest.mark.parametrize("space", names())  # every space of the registry, a new one included
def test_every_space_names_augmentations_and_parameters_the_core_has(space):
    settings.validate(get_space(space).plan("smoke", (1,)), SMOKE)


def test_resume_with_another_run_setting_is_refused_before_ray(tmp_path, capsys, monkeypatch):
    import json

    import sweep.ray_session
    from search_spaces.plan import DEFAULT_SEEDS
    from sweep import run
    from sweep.resume_guard import IN_FORCE_KEY, in_force

    monkeypatch.setattr(sweep.ray_session, "connect", lambda *a, **k: pytest.fail("Ray was started"))
    from ecgmask.profiles import LAPTOP

    plan = get_space("augmentations").plan("laptop", DEFAULT_SEEDS)
    stored = {**plan.to_json(), IN_FORCE_KEY: {**in_force(plan=plan, profile=LAPTOP, data=None, seeds=DEFAULT_SEEDS),
                                               **settings.parse(["probe.lr=0.05"]).run_settings()}}
    (tmp_path / "X").mkdir()
    (tmp_path / "X" / "plan.json").write_text(json.dumps(stored))
    with pytest.raises(SystemExit):
        run.main(["--space", "augmentations", "--storage", str(tmp_path), "--name", "X", "--resume", "--dry-run",
                  "--set", "pretrain.lr=3e-4", "--set", "probe.lr=0.05"])
    err = capsys.readouterr().err.strip()
    assert err == "sweep/run.py: error: --resume: differs from plan.json: pretrain.lr none -> 0.0003"
