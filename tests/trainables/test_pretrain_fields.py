"""A pretraining trial's config becomes its PretrainConfig: every space parameter is a field."""

from __future__ import annotations

import pytest

from ecgmask.pretrain import PretrainConfig
from ecgmask.profiles import SMOKE
from search_spaces.plan import Row, grid_plan
from search_spaces.plan import pretrain_fields


def test_a_rows_augmentation_params_reach_the_augmentation():
    """Sweeping an augmentation's own parameter needs only its file and a space: the row's
    `augmentation_params` travel in the trial config to `build`."""
    rows = [Row(f"gaussian(std={s})", augmentation="gaussian", params={"augmentation_params": {"gaussian": {"std": s}}})
            for s in (0.01, 0.2)]
    plan = grid_plan(space="test", profile="smoke", rows=rows, seeds=(1,), tasks=("sex",), fractions=(1.0,))
    built = []
    for trial in plan.pretrain:
        cfg = PretrainConfig.from_profile(SMOKE, **pretrain_fields(trial, PretrainConfig))
        built.append(cfg.augmentation_options()["gaussian"]["std"])
    assert built == [0.01, 0.2]


def test_an_unknown_key_is_refused():
    with pytest.raises(ValueError, match="unknown config key"):
        pretrain_fields({"key": "x-s1", "row": "x", "augmentation": "gaussian", "seed": 1, "sigma": 0.1}, PretrainConfig)
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['pretrain.sigma'\].*PretrainConfig fields"):
        pretrain_fields({"key": "x-s1", "row": "x", "augmentation": "gaussian", "seed": 1, "pretrain": {"sigma": 0.1}}, PretrainConfig)
