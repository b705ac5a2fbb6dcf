"""PretrainConfig: the method's defaults, the profiles, validation, the augmentation options."""

import pytest
from ecgmask_tests_pretrain_support import tiny

from ecgmask.augment import build, find_advmask
from ecgmask.pretrain import PretrainConfig
from ecgmask.profiles import LAPTOP, PAPER


def test_config_defaults_follow_the_method():
    cfg = PretrainConfig(augmentation="advmask")
    assert (cfg.batch_size, cfg.accumulation, cfg.lr, cfg.masker_lr, cfg.temperature) == (32, 4, 1e-4, 1e-4, 0.1)
    assert (cfg.n_masks, cfg.alpha, cfg.ratio, cfg.k, cfg.patience, cfg.width) == (2, 1.0, 1.0, 50.0, 5, 64)
    assert cfg.device == "auto" and cfg.amp is True and cfg.max_steps_per_epoch is None


def test_config_from_profile_takes_the_profile_sizes_and_overrides():
    cfg = PretrainConfig.from_profile("laptop", augmentation="advmask+3kg", seed=3, epochs=7)
    assert (cfg.width, cfg.masker_width, cfg.batch_size) == (LAPTOP.width, LAPTOP.masker_width, LAPTOP.batch_size)
    assert cfg.accumulation == LAPTOP.accumulation and cfg.epochs == 7 and cfg.seed == 3
    assert PretrainConfig.from_profile(PAPER, augmentation="gaussian").width == 64


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="batch_size"):
        tiny(batch_size=1)
    with pytest.raises(ValueError, match="masker_lr"):
        tiny(masker_lr=0.0)
    with pytest.raises(ValueError, match="augmentation"):
        tiny(augmentation="")


def test_augmentation_options_build_the_masker_the_config_describes():
    cfg = tiny("advmask+3kg", n_masks=3, k=80.0, masker_width=8)
    assert cfg.augmentation_options() == {"advmask": {"n_masks": 3, "k": 80.0, "width": 8,
                                                 "objective": "adversarial", "threshold": 0.5}}
    adversarial = find_advmask(build(cfg.augmentation, 100, cfg.augmentation_options()))
    assert (adversarial.n_masks, adversarial.k, adversarial.masker.config["width"]) == (3, 80.0, 8)
    # the same mapping serves an augmentation without a masker
    assert find_advmask(build("gaussian", 100, tiny("gaussian").augmentation_options())) is None


def test_augmentation_params_reach_any_augmentation():
    """A space sweeps an augmentation's own parameter through `augmentation_params` (no new
    PretrainConfig field): it reaches `build`, and a key the augmentation lacks is refused there."""
    cfg = tiny("gaussian+advmask", augmentation_params={"gaussian": {"std": 0.3}, "advmask": {"n_masks": 9}})
    options = cfg.augmentation_options()
    assert options["gaussian"] == {"std": 0.3}
    assert options["advmask"]["n_masks"] == cfg.n_masks  # the config's own fields win
    stages = build(cfg.augmentation, 100, options).stages
    assert [type(s).__name__ for s in stages][0] == "GaussianNoise" and stages[0].std == 0.3
    with pytest.raises(ValueError, match="gaussian"):
        build("gaussian", 100, tiny("gaussian", augmentation_params={"gaussian": {"sigma": 1.0}}).augmentation_options())
    with pytest.raises(ValueError, match="augmentation_params"):
        tiny(augmentation_params={"gaussian": 0.3})
