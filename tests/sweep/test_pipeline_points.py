"""Each planned trial becomes one Tune trial with exactly its nested config."""

from __future__ import annotations

import pytest
from ray.tune.search.sample import Categorical
from ray.tune.search.variant_generator import _get_preset_variants  # what BasicVariantGenerator does with a point

from sweep.pipeline import _points, _nest

CONFIGS = [
    {"key": "a", "seed": 1, "pretrain": {"lr": 1e-3, "augmentation_params": {"gaussian": {"std": 0.1}}}, "probe": {}},
    {"key": "b", "seed": 2, "pretrain": {"n_masks": 3}, "probe": {"lr": 0.05}},
]


def test_the_space_nests_like_the_configs_and_each_point_is_its_config():
    space, points = _points(CONFIGS)
    assert isinstance(space["pretrain"]["augmentation_params"]["gaussian"]["std"], Categorical)
    assert space["probe"]["lr"].categories == [None, 0.05]
    assert points[0] == {"key": "a", "seed": 1, "pretrain": {"lr": 1e-3, "n_masks": None, "augmentation_params": {"gaussian": {"std": 0.1}}}, "probe": {"lr": None}}
    assert points[1]["pretrain"] == {"lr": None, "n_masks": 3, "augmentation_params": {"gaussian": {"std": None}}}
    for point in points:  # Tune checks a point path by path against the space and takes it as it is
        resolved = [spec["config"] for _, spec in _get_preset_variants({"config": space}, point)]
        assert resolved == [point]


def test_a_key_that_is_a_mapping_in_one_config_and_a_value_in_another_is_refused():
    with pytest.raises(ValueError, match="pretrain/augmentation_params"):
        _nest({("pretrain", "augmentation_params", "gaussian"): 1, ("pretrain", "augmentation_params"): 2})


def test_resuming_a_sweep_planned_with_flat_trial_configs_is_refused_in_one_line(tmp_path):
    from search_spaces.plan import Row, grid_plan
    from sweep.pipeline import write_plan
    from sweep.store import files as store
    from sweep.store.layout import SweepError, SweepLayout

    plan = grid_plan(space="t", profile="smoke", rows=[Row("mask", augmentation="mask", params={"n_masks": 2})], seeds=(1,), tasks=("sex",), fractions=(1.0,))
    sweep = SweepLayout(tmp_path)
    body = plan.to_json()
    body["pretrain"] = [{k: v for k, v in t.items() if k != "pretrain"} | t["pretrain"] for t in body["pretrain"]]  # the older, flat form
    store.write_json(sweep.plan, body)
    with pytest.raises(SweepError, match="planned by an older version"):
        write_plan(plan, sweep, {}, resume=True)
    store.write_json(sweep.plan, plan.to_json())
    write_plan(plan, sweep, {}, resume=True)  # a nested plan resumes
