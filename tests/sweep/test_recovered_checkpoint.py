"""A pretraining checkpoint truncated on disk: the trial starts again from epoch 0 and says
so, in the stage lines and the driver's summary."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import trainables.loop as loop
import trainables.pretrain as pretrain
from ecgmask.profiles import SMOKE
from sweep.progress import StageLines
from sweep.store import recoveries
from sweep.summary import recovery_lines
from trainables.context import TrialContext


class FreshPretrainer:
    """The real `from_checkpoint` (torch.load meets the truncated file first); a fresh one
    records only its config."""

    from_checkpoint = pretrain.Pretrainer.from_checkpoint

    def __init__(self, config, cache):
        self.config = config


def _truncated_checkpoint(tmp_path):
    directory = tmp_path / "sweep" / "pretrain" / "advmask-s1" / "checkpoint_000000"
    directory.mkdir(parents=True)
    torch.save({"weights": torch.zeros(4096)}, directory / "state.pt")
    with open(directory / "state.pt", "r+b") as f:
        f.truncate(100)
    return directory


def test_an_unreadable_checkpoint_restarts_from_epoch_0_and_is_recorded(tmp_path, monkeypatch):
    from ray import tune

    directory = _truncated_checkpoint(tmp_path)
    monkeypatch.setattr(loop.tune, "get_checkpoint", lambda: tune.Checkpoint.from_directory(str(directory)))
    context = TrialContext(sweep_dir=str(tmp_path / "sweep"), profile=SMOKE, data={}, cpus=1)

    trainer, resumed = loop.resume_or_start(FreshPretrainer, lambda: "fresh config", None, on_unreadable=pretrain.recorder(context, "advmask-s1"))
    assert not resumed and trainer.config == "fresh config"
    message = recoveries.read(context.sweep_dir, "pretrain", "advmask-s1")
    assert message.startswith("checkpoint_000000 unreadable (RuntimeError: ") and message.endswith("), restarted from epoch 0")
    assert recovery_lines(context.sweep_dir) == ["recovered trials:", f"  pretrain/advmask-s1: {message}"]


def test_another_restore_error_is_not_taken_for_an_unreadable_file(tmp_path, monkeypatch):
    from ray import tune

    directory = _truncated_checkpoint(tmp_path)

    def out_of_memory(directory, cache):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(loop.tune, "get_checkpoint", lambda: tune.Checkpoint.from_directory(str(directory)))
    monkeypatch.setattr(FreshPretrainer, "from_checkpoint", staticmethod(out_of_memory))
    context = TrialContext(sweep_dir=str(tmp_path / "sweep"), profile=SMOKE, data={}, cpus=1)
    with pytest.raises(RuntimeError, match="out of memory"):
        loop.resume_or_start(FreshPretrainer, lambda: "fresh config", None, on_unreadable=pretrain.recorder(context, "a-s1"))
    assert recovery_lines(context.sweep_dir) == []
    # without a recorder (the search trainable) an unreadable checkpoint is an error, as before
    monkeypatch.setattr(FreshPretrainer, "from_checkpoint", pretrain.Pretrainer.from_checkpoint)
    with pytest.raises(RuntimeError, match="PytorchStreamReader"):
        loop.resume_or_start(FreshPretrainer, lambda: "fresh config", None)


def test_the_stage_line_names_the_recovery(tmp_path, capsys):
    recoveries.record(str(tmp_path), "pretrain", "advmask-s1", "checkpoint_000000 unreadable (RuntimeError: x), restarted from epoch 0")
    trial = SimpleNamespace(trial_id="t1", config={"key": "advmask-s1"}, status="TERMINATED", last_result={},
                            storage=SimpleNamespace(storage_fs_path=str(tmp_path)))
    lines = StageLines("pretrain", 1)
    lines.on_trial_complete(0, [trial], trial)
    assert "advmask-s1: checkpoint_000000 unreadable (RuntimeError: x), restarted from epoch 0" in capsys.readouterr().out
