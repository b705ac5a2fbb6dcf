"""Refusals before Ray: a --name that is not one safe folder name, a non-finite float setting."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from ecgmask.pretrain.config import PretrainConfig
from ecgmask.profiles import Profile
from ecgmask.transfer.config import ProbeConfig
from sweep import run
from sweep.checks import BadArgument
from sweep.names import check_name
from sweep.settings import FIXED, SettingsError, parse


@pytest.mark.parametrize("name", ["../x", "a b", ".x", "a/b", "..", "", "x;rm", "/abs"])
def test_an_unsafe_name_is_refused(name):
    with pytest.raises(BadArgument, match="one folder name"):
        check_name(name)


@pytest.mark.parametrize("name", ["augmentations-laptop-20260101-000000", "a.b+c_d", "run1"])
def test_a_safe_name_passes(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["../escape", "a b", ".x", "a/b"])
def test_the_cli_refuses_an_unsafe_name_in_one_line_before_ray(name, tmp_path, capsys, monkeypatch):
    import sweep.ray_session

    monkeypatch.setattr(sweep.ray_session, "connect", lambda *a, **k: pytest.fail("Ray started"))
    storage = tmp_path / "storage" / "sub"
    with pytest.raises(SystemExit) as stop:
        run.main(["--space", "augmentations", "--profile", "smoke", "--storage", str(storage), "--name", name])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--name" in err
    assert not (tmp_path / "storage").exists()  # nothing written, inside or outside the storage


def _float_fields(cls) -> list[str]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if hint is float or float in typing.get_args(hint):
            out.append(f.name)
    return out


SECTIONS = {"pretrain": PretrainConfig, "probe": ProbeConfig, "profile": Profile}
FLOAT_KEYS = [f"{s}.{n}" for s, cls in SECTIONS.items() for n in _float_fields(cls) if n not in FIXED[s]]


def test_every_section_has_float_fields_to_check():
    assert {k.split(".")[0] for k in FLOAT_KEYS} == set(SECTIONS)


@pytest.mark.parametrize("key", FLOAT_KEYS)
@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "NaN"])
def test_every_float_setting_refuses_a_non_finite_value(key, text):
    with pytest.raises(SettingsError, match="finite") as err:
        parse([f"{key}={text}"])
    assert key in str(err.value) and "\n" not in str(err.value)


def test_a_non_finite_value_from_a_config_file_is_refused(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("probe:\n  lr: .nan\n")
    with pytest.raises(SettingsError, match="probe.lr must be a finite number"):
        parse([], str(path))


@pytest.mark.parametrize("pair", ["probe.lr=nan", "probe.lr=inf", "pretrain.alpha=inf", "pretrain.lr=nan"])
def test_the_cli_refuses_a_non_finite_setting_before_ray(pair, tmp_path):
    args = run.parse_args(["--space", "augmentations", "--profile", "smoke", "--storage", str(tmp_path), "--set", pair])
    with pytest.raises(BadArgument, match="finite"):
        run.check_command(args)
