import json

import pytest

import search_spaces
from search_spaces.plan import Row, SweepPlan, grid_plan, slug


def test_registry_discovers_every_space_module():
    assert search_spaces.names() == ["augmentations", "fractions", "masker", "masks", "sparsity", "tune"]
    for name in search_spaces.names():
        assert search_spaces.get_space(name).describe().strip()
    with pytest.raises(ValueError, match="unknown space 'nope'"):
        search_spaces.get_space("nope")


def test_augmentations_is_table1():
    plan = search_spaces.get_space("augmentations").plan("laptop")
    assert len(plan.pretrain) == 11 * 3
    assert len(plan.probe) == 13 * 3 * 2 * 3 == 234
    rows = list(dict.fromkeys(t["row"] for t in plan.probe))
    assert rows == ["scratch", "gaussian", "powerline", "stft", "wander", "shift", "mask", "blockmask",
                    "peakmask", "advmask", "3kg", "advmask+3kg", "random"]
    assert {t["seed"] for t in plan.probe} == {1, 10, 42}
    assert {t["task"] for t in plan.probe} == {"arrhythmia", "sex"}
    assert {t["fraction"] for t in plan.probe} == {1.0, 0.1, 0.01}
    by_key = {t["key"]: t for t in plan.pretrain}
    for probe in plan.probe:
        if probe["row"] in ("scratch", "random"):
            assert probe["mode"] == probe["row"] and probe["pretrain_key"] is None
        else:
            assert probe["mode"] == "linear"
            source = by_key[probe["pretrain_key"]]
            assert (source["augmentation"], source["seed"]) == (probe["augmentation"], probe["seed"])
    json.dumps(plan.to_json())  # plan.json is plain JSON


def test_the_other_grids():
    masks = search_spaces.get_space("masks").plan("laptop", seeds=(1,))
    assert sorted(t["pretrain"]["n_masks"] for t in masks.pretrain) == [1, 2, 3, 6, 12]
    assert {t["row"] for t in masks.probe} >= {"advmask(N=3)", "advmask(N=12)"}
    sparsity = search_spaces.get_space("sparsity").plan("laptop", seeds=(1,))
    assert sorted((t["pretrain"]["alpha"], t["pretrain"]["ratio"]) for t in sparsity.pretrain) == [
        (0.1, 0.8), (0.1, 1.0), (0.5, 0.8), (0.5, 1.0), (1.0, 0.8), (1.0, 1.0)]
    fractions = search_spaces.get_space("fractions").plan("laptop")
    assert sorted({t["fraction"] for t in fractions.probe}) == [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
    assert {t["augmentation"] for t in fractions.pretrain} == {"advmask", "3kg", "advmask+3kg"}


def test_tune_space_is_an_optuna_search_at_one_percent():
    plan = search_spaces.get_space("tune").plan("laptop")
    spec = plan.search
    assert not plan.pretrain and not plan.probe
    assert set(spec.param_space) == {"lr", "masker_lr", "alpha", "k"}
    assert (spec.fixed["fraction"], spec.metric, spec.mode) == (0.01, "val_accuracy", "max")
    assert spec.num_samples > spec.max_concurrent >= 1


def test_select_keeps_the_encoders_its_probes_need():
    plan = search_spaces.get_space("augmentations").plan("laptop", seeds=(1, 2))
    small = plan.select(rows=["scratch", "advmask"], tasks=["sex"], fractions=[0.1])
    assert [t["key"] for t in small.pretrain] == ["advmask-s1", "advmask-s2"]
    assert len(small.probe) == 4
    with pytest.raises(ValueError, match="no row"):
        plan.select(rows=["nope"])
    with pytest.raises(ValueError, match="no fraction"):
        plan.select(fractions=[0.3])


def test_plans_refuse_inconsistent_trials():
    with pytest.raises(ValueError, match="duplicate row"):
        grid_plan(space="x", profile="laptop", rows=[Row("a", "mask"), Row("a", "mask")])
    with pytest.raises(ValueError, match="lacks"):
        SweepPlan("x", "laptop", pretrain=[], probe=[{"key": "p", "mode": "linear", "pretrain_key": "gone"}])
    with pytest.raises(ValueError, match="duplicate pretrain keys"):
        SweepPlan("x", "laptop", pretrain=[{"key": "k"}, {"key": "k"}])
    assert slug("advmask(N=3)") == "advmask_N3"
    assert slug("advmask+3kg") == "advmask_plus_3kg"
