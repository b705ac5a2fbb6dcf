"""The pretraining-loss figure reads every pretraining trial's per-epoch reports."""

from __future__ import annotations

import pytest

from analysis.plot_pretrain_loss import main, plot_pretrain_loss, pretrain_history
from analysis.results import SweepError

pytestmark = pytest.mark.slow


def test_history_has_every_trial_and_epoch(stored_sweep):
    history = pretrain_history(stored_sweep.path)
    # the stored sweep pretrains peakmask and advmask (scratch needs no encoder), 3 seeds, 2 epochs
    assert sorted(history["row"].unique()) == ["advmask", "peakmask"]
    assert history.groupby("row")["seed"].nunique().to_dict() == {"advmask": 3, "peakmask": 3}
    assert sorted(history["epoch"].unique()) == [1, 2]
    # the stand-in's loss is 1 / epoch
    assert history.set_index("epoch")["nt_xent"].groupby(level=0).mean().to_dict() == pytest.approx({1: 1.0, 2: 0.5})


def test_a_relative_sweep_path_is_read(stored_sweep, monkeypatch):
    monkeypatch.chdir(stored_sweep.path.parent)
    assert len(pretrain_history(stored_sweep.path.name)) == len(pretrain_history(stored_sweep.path))


def test_plot_is_written(stored_sweep, tmp_path):
    path = plot_pretrain_loss(pretrain_history(stored_sweep.path), tmp_path)
    assert path.name == "pretrain_loss.png" and path.stat().st_size > 10_000
    assert main(["--sweep", str(stored_sweep.path), "--out", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "pretrain_loss.png").is_file()


def test_a_folder_without_pretraining_is_refused(tmp_path, capsys):
    with pytest.raises(SweepError, match="no pretraining experiment"):
        pretrain_history(tmp_path)
    assert main(["--sweep", str(tmp_path)]) == 2
    assert "no pretraining experiment" in capsys.readouterr().err
