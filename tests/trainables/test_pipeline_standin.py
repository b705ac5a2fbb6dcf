"""Trainables and the pipeline on the tiny stand-in core (the `standin` fixture), inside one Ray session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecgmask.profiles import LAPTOP
from search_spaces.plan import Row, grid_plan
from sweep.store.layout import PRETRAIN, PROBE, SweepLayout
from sweep.pipeline import run_sweep
from trainables.context import TrialContext
from sweep.resources import TrialResources

pytestmark = pytest.mark.slow


def _context(tmp_path, standin, epochs):
    data = {"pretrain": standin.make_cache(tmp_path / "pre"), "downstream": standin.make_cache(tmp_path / "down")}
    return TrialContext(sweep_dir=str(tmp_path / "sweep"), profile=LAPTOP.with_overrides(epochs=epochs), data=data, cpus=1)


def _analysis(path):
    from ray.tune import ExperimentAnalysis

    return ExperimentAnalysis(str(path)).dataframe()


def test_pipeline_runs_pretraining_then_probes(tmp_path, standin):
    marker = tmp_path / "marker.txt"
    rows = [
        Row("scratch", mode="scratch"),
        Row("gaussian", augmentation="gaussian", params={"marker": str(marker)}),
        Row("advmask(N=3)", augmentation="advmask", params={"n_masks": 3, "marker": str(marker)}),
    ]
    plan = grid_plan(space="t", profile="laptop", rows=rows, seeds=(1, 2), tasks=("sex",), fractions=(1.0, 0.1))
    context = _context(tmp_path, standin, epochs=2)
    out = run_sweep(plan, context=context, resources=TrialResources(1, 0), max_concurrent=2, verbose=0)

    assert [s.stage for s in out.stages] == [PRETRAIN, PROBE]
    assert out.failed == {}
    sweep = SweepLayout(tmp_path / "sweep")
    pre = _analysis(sweep.experiment(PRETRAIN))
    assert sorted(pre["config/key"]) == sorted(t["key"] for t in plan.pretrain)
    assert set(pre["epoch"]) == {2}  # the resolved profile's epochs reached the trials
    probe = _analysis(sweep.experiment(PROBE))
    assert len(probe) == len(plan.probe) == 12
    for col in ("config/row", "config/task", "config/fraction", "config/seed", "config/mode", "test_accuracy"):
        assert col in probe.columns
    adv = pre[pre["config/row"] == "advmask(N=3)"]  # a row's params reach its trials in their `pretrain` mapping
    assert set(adv["config/pretrain/n_masks"]) == {3} and set(pre[pre["config/row"] == "gaussian"]["config/pretrain/n_masks"].dropna()) == set()
    # the probes of one encoder shared one embeddings file, next to the published encoder
    for key in ("gaussian-s1", "advmask_N3-s2"):
        enc = Path(sweep.encoder(key))
        assert (enc / "encoder.pt").is_file()
        assert len(list(enc.glob("embeddings-*.npy"))) == 1
    plan_json = json.loads(Path(sweep.plan).read_text())
    assert plan_json["space"] == "t" and plan_json["data"] == context.data
    assert plan_json["pretrain_trials"] == 4 and plan_json["probe_trials"] == 12


def test_failed_trials_are_named_and_the_rest_finish(tmp_path, standin):
    rows = [
        Row("gaussian", augmentation="gaussian"),
        Row("nan", augmentation="mask", params={"nan_at_epoch": 1}),
        Row("badkey", augmentation="mask", params={"no_such_field": 1}),
    ]
    plan = grid_plan(space="t", profile="laptop", rows=rows, seeds=(1,), tasks=("sex",), fractions=(1.0,))
    context = _context(tmp_path, standin, epochs=2)
    out = run_sweep(plan, context=context, resources=TrialResources(1, 0), max_concurrent=2, verbose=0)

    assert set(out.failed) == {"pretrain/nan-s1", "pretrain/badkey-s1", "probe/nan-s1-sex-f1", "probe/badkey-s1-sex-f1"}
    assert "nt_xent is nan" in out.failed["pretrain/nan-s1"]
    assert "no_such_field" in out.failed["pretrain/badkey-s1"]
    assert "skipped" in out.failed["probe/nan-s1-sex-f1"] and "nt_xent is nan" in out.failed["probe/nan-s1-sex-f1"]
    probe = _analysis(context.layout.experiment(PROBE))
    ok = probe[probe["config/row"] == "gaussian"]
    assert len(ok) == 1 and ok["test_accuracy"].notna().all()


def test_a_worker_that_dies_resumes_from_its_checkpoint(tmp_path, standin):
    marker = tmp_path / "marker.txt"
    flag = tmp_path / "died"
    rows = [Row("mask", augmentation="mask", params={"die_at_epoch": 3, "die_flag": str(flag), "marker": str(marker)})]
    plan = grid_plan(space="t", profile="laptop", rows=rows, seeds=(1,), tasks=("sex",), fractions=(1.0,))
    context = _context(tmp_path, standin, epochs=4)
    out = run_sweep(plan, context=context, resources=TrialResources(1, 0), max_concurrent=1, verbose=0)

    assert out.failed == {}
    assert flag.read_text() == "died"  # the worker did die once
    starts = marker.read_text().splitlines()
    assert starts == ["pretrain mask-1 start_epoch=0", "pretrain mask-1 start_epoch=2"]
    pre = _analysis(context.layout.experiment(PRETRAIN))
    assert list(pre["epoch"]) == [4]
