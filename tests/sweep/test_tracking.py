"""A tiny sweep on the stand-in core with `--tracker mlflow`: MLflow's own client reads back one
run per trial, named as the plan names it, with its config as params and its final metrics;
Tune's JSON, CSV and TensorBoard files sit in trial folders named by the plan's keys; each
trial's result carries the provenance record."""

from __future__ import annotations

from pathlib import Path

import ecgmask_tests_ray_fixture as ray_fixture  # registered by tests/conftest.py
import pytest

from ecgmask.profiles import LAPTOP
from search_spaces.plan import Row, grid_plan
from sweep import settings
from sweep.store import provenance
from sweep.store.layout import PRETRAIN, PROBE, SweepLayout
from sweep.observe import Observers
from sweep.pipeline import run_sweep
from sweep.tracking import Tracking, TrackingError
from trainables.context import TrialContext
from sweep.resources import TrialResources


@pytest.fixture
def standin(ray_session):
    with ray_fixture.load_standin().installed() as core:
        yield core


def test_a_tracker_that_cannot_run_is_refused_before_ray(tmp_path):
    with pytest.raises(TrackingError, match="choose one of"):
        Tracking("neptune").check(str(tmp_path))
    with pytest.raises(TrackingError, match="--tracking-uri needs --tracker mlflow"):
        Tracking(None, "file:///x").check(str(tmp_path))
    with pytest.raises(TrackingError, match="pass --tracking-uri"):
        Tracking("mlflow").check("s3://bucket/sweeps/a")
    Tracking("mlflow").check(str(tmp_path))
    assert Tracking("mlflow").mlflow_uri(str(tmp_path / "s")) == (tmp_path / "s" / "mlruns").as_uri()


@pytest.mark.slow
def test_mlflow_reads_back_one_run_per_trial_with_params_and_final_metrics(tmp_path, standin, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # what any reader of a file store sets (MLflow 3)
    from mlflow.tracking import MlflowClient
    from ray.tune import ExperimentAnalysis

    rows = [Row("scratch", mode="scratch"), Row("advmask+3kg", augmentation="advmask+3kg")]
    plan = grid_plan(space="t", profile="laptop", rows=rows, seeds=(1,), tasks=("sex",), fractions=(1.0, 0.1))
    plan = settings.parse(["pretrain.lr=3e-4", "probe.lr=0.05"]).apply(plan)  # what --set does to the plan
    data = {"pretrain": standin.make_cache(tmp_path / "pre"), "downstream": standin.make_cache(tmp_path / "down")}
    sweep = tmp_path / "tracked"
    driver = provenance.sweep_provenance(["sweep/run.py", "--tracker", "mlflow"])
    context = TrialContext(sweep_dir=str(sweep), profile=LAPTOP.with_overrides(epochs=2), data=data, cpus=1, provenance=driver)
    tracking = Tracking("mlflow")
    out = run_sweep(plan, context=context, resources=TrialResources(1, 0), max_concurrent=2, verbose=0, observers=Observers(tracking=tracking))
    assert out.failed == {}

    client = MlflowClient(tracking.mlflow_uri(str(sweep)))
    experiment = client.get_experiment_by_name("tracked")
    runs = client.search_runs([experiment.experiment_id])
    by_name = {r.info.run_name: r for r in runs}
    assert sorted(by_name) == [
        "pretrain/advmask+3kg/s1",
        "probe/advmask+3kg/sex/0.1/s1",
        "probe/advmask+3kg/sex/1/s1",
        "probe/scratch/sex/0.1/s1",
        "probe/scratch/sex/1/s1",
    ]
    assert all(r.info.status == "FINISHED" for r in runs)
    pre = by_name["pretrain/advmask+3kg/s1"]
    assert pre.data.tags["stage"] == PRETRAIN
    assert pre.data.params["augmentation"] == "advmask+3kg" and pre.data.params["seed"] == "1"
    assert pre.data.metrics["epoch"] == 2  # the last epoch's numbers are the run's final metrics
    assert float(pre.data.params["pretrain/lr"]) == 3e-4 and float(by_name["probe/scratch/sex/1/s1"].data.params["probe/lr"]) == 0.05

    probes = ExperimentAnalysis(SweepLayout(str(sweep)).experiment(PROBE)).dataframe()
    for _, row in probes.iterrows():
        name = f"probe/{row['config/row']}/sex/{row['config/fraction']:g}/s1"
        run = by_name[name]
        assert run.data.tags["stage"] == PROBE
        assert run.data.params["task"] == "sex" and float(run.data.params["fraction"]) == row["config/fraction"]
        assert run.data.metrics["test_accuracy"] == pytest.approx(row["test_accuracy"])
        if row["config/row"] == "advmask+3kg":
            # the stand-in's accuracy follows the encoder's pretraining lr: 0.5 + 0.01 * (seed + epochs * lr * 1e4) + 0.1 * fraction
            assert row["test_accuracy"] == pytest.approx(0.5 + 0.01 * (1 + 2 * 3e-4 * 1e4) + 0.1 * row["config/fraction"])
        # each trial's result records the code, the command and its own machine
        assert row["provenance/git_commit"] == driver["git_commit"] and row["provenance/command"] == driver["command"]
        assert row["provenance/torch"] and row["provenance/ray"] and row["provenance/host"] and row["provenance/device"] == "cpu"

    # Tune's own files, per trial, in folders named by the plan's keys
    for stage, trials in ((PRETRAIN, plan.pretrain), (PROBE, plan.probe)):
        experiment_dir = Path(SweepLayout(str(sweep)).experiment(stage))
        for trial in trials:
            folder = experiment_dir / trial["key"]
            assert (folder / "result.json").is_file() and (folder / "progress.csv").is_file(), folder
            assert list(folder.glob("events.out.tfevents.*")), f"no TensorBoard file in {folder}"


@pytest.mark.slow
def test_wandb_writes_one_offline_run_per_trial_without_an_account(tmp_path, standin, monkeypatch):
    for name in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    plan = grid_plan(space="t", profile="laptop", rows=[Row("scratch", mode="scratch")], seeds=(1, 2), tasks=("sex",), fractions=(1.0,))
    data = {"pretrain": standin.make_cache(tmp_path / "pre"), "downstream": standin.make_cache(tmp_path / "down")}
    context = TrialContext(sweep_dir=str(tmp_path / "wb"), profile=LAPTOP, data=data, cpus=1)
    out = run_sweep(plan, context=context, resources=TrialResources(1, 0), max_concurrent=2, verbose=0, observers=Observers(tracking=Tracking("wandb")))
    assert out.failed == {}
    from ray.tune import ExperimentAnalysis

    trial_ids = ExperimentAnalysis(SweepLayout(str(tmp_path / "wb")).experiment(PROBE)).dataframe()["trial_id"]
    runs = sorted(Path(SweepLayout(str(tmp_path / "wb")).wandb).rglob("offline-run-*"))
    assert len(runs) == 2 and {r.name.rsplit("-", 1)[1] for r in runs} == set(trial_ids)  # W&B's run id is Tune's trial id
    assert all(list(r.glob("*.wandb")) for r in runs)
