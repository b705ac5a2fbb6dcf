"""A --data cache made for another profile (sampling rate or window length) is refused before
Ray starts, in one line naming both and the prepare.py options that make a matching one."""

from __future__ import annotations

import pytest

from sweep import run


@pytest.fixture
def no_ray(monkeypatch):
    import sweep.ray_session

    monkeypatch.setattr(sweep.ray_session, "connect", lambda *a, **k: pytest.fail("Ray was started"))


def fake_caches(monkeypatch, fs, length):
    from ecgmask.data import EcgCache

    def open_(cls, path):
        kind = "downstream" if str(path).endswith("down") else "pretrain"
        return type("Cache", (), {"meta": {"kind": kind, "fs": fs, "length": length}})()

    monkeypatch.setattr(EcgCache, "open", classmethod(open_))


def command(tmp_path, *extra):
    for name in ("pre", "down"):
        (tmp_path / name).mkdir(exist_ok=True)
    return ["--space", "augmentations", "--dry-run", "--storage", str(tmp_path / "r"),
            "--data", str(tmp_path / "pre"), str(tmp_path / "down"), *extra]


def test_a_paper_sized_cache_is_refused_by_a_laptop_sweep(tmp_path, monkeypatch, capsys, no_ray):
    fake_caches(monkeypatch, 500, 5000)
    with pytest.raises(SystemExit) as exit_:
        run.main(command(tmp_path))
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "at 500 Hz with 5000-sample windows" in lines[0] and "laptop profile runs at 100 Hz with 1000-sample windows" in lines[0]
    assert "--profile laptop (--fs 100 --length 1000 --stride 400)" in lines[0]


def test_a_cache_of_the_profile_passes_the_check(tmp_path, monkeypatch):
    fake_caches(monkeypatch, 500, 5000)
    assert run.check_command(run.parse_args(command(tmp_path, "--profile", "paper"))).data is not None
