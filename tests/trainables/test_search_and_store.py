"""The `tune` space's trainable under Optuna + ASHA (stand-in core), and the storage helpers."""

from __future__ import annotations

import pytest

import search_spaces
from ecgmask.profiles import LAPTOP
from sweep.store.layout import PROBE, PRETRAIN, SEARCH, SweepLayout
from sweep.pipeline import run_search
from sweep.store import files as store
from trainables.context import TrialContext
from sweep.resources import TrialResources


def test_store_round_trip_and_publish(tmp_path):
    sweep = SweepLayout(tmp_path)
    path = sweep.done(PROBE, "k")
    assert store.read_json(path) is None
    store.write_json(path, {"result": {"test_accuracy": 0.5}})
    assert store.read_json(path) == {"result": {"test_accuracy": 0.5}}
    assert store.list_names(sweep.done_dir(PROBE)) == ["k.json"]
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        store.read_json(str(tmp_path / "bad.json"))
    src = tmp_path / "src"
    src.mkdir()
    (src / "encoder.pt").write_text("new")
    target = tmp_path / "published" / "a"
    target.mkdir(parents=True)
    (target / "partial").write_text("left by a crashed run")
    store.publish_dir(str(src), str(target))
    assert sorted(p.name for p in target.iterdir()) == ["encoder.pt"]


def test_repeatable_failures_fail_fast_on_retry_and_resume_clears_them(tmp_path):
    sweep = SweepLayout(tmp_path)
    calls = []

    def bad():
        calls.append(1)
        raise ValueError("bad config")

    for _ in range(2):
        with pytest.raises((ValueError, store.DeterministicFailure)):
            store.run_recording_failures(sweep, PRETRAIN, "k", bad)
    assert len(calls) == 1  # the retry did not redo the work
    store.clear_failures(sweep)
    with pytest.raises(ValueError):
        store.run_recording_failures(sweep, PRETRAIN, "k", bad)
    assert len(calls) == 2


@pytest.mark.slow
def test_tune_space_runs_optuna_with_asha(tmp_path, standin):
    from ray.tune import ExperimentAnalysis

    plan = search_spaces.get_space("tune").plan("laptop")
    plan.search = plan.search.__class__(**{**plan.search.__dict__, "num_samples": 4, "max_concurrent": 2})
    data = {"pretrain": standin.make_cache(tmp_path / "pre"), "downstream": standin.make_cache(tmp_path / "down")}
    context = TrialContext(sweep_dir=str(tmp_path / "sweep"), profile=LAPTOP.with_overrides(epochs=3), data=data, cpus=1)
    out = run_search(plan, context=context, resources=TrialResources(1, 0), max_concurrent=2, resume=False, verbose=0)
    assert out.failed == {} and out.total == 4
    assert set(out.best["config"]) == {"lr", "masker_lr", "alpha", "k"}
    frame = ExperimentAnalysis(context.layout.experiment(SEARCH)).dataframe()
    assert "val_accuracy" in frame.columns and len(frame) == 4
    assert (frame["config/fraction"] == 0.01).all()
    # every epoch reports a checkpoint; a trial keeps at most SEARCH_CHECKPOINTS_TO_KEEP of them
    from pathlib import Path

    from sweep.pipeline import SEARCH_CHECKPOINTS_TO_KEEP

    assert frame["training_iteration"].max() > SEARCH_CHECKPOINTS_TO_KEEP
    kept = [len(list(Path(p).glob("checkpoint_*"))) for p in frame["logdir"].map(lambda d: Path(context.layout.experiment(SEARCH)) / d)]
    assert 1 <= max(kept) <= SEARCH_CHECKPOINTS_TO_KEEP, kept
