import pytest
import torch

import ecgmask.augment as augment
from ecgmask.augment import Compose, build, find_advmask, names, register
from ecgmask.augment.base import Augmentation

BASELINES = {"none", "gaussian", "powerline", "stft", "wander", "shift", "mask", "blockmask", "peakmask", "3kg"}
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def seeded(seed, device="cpu"):
    return torch.Generator(device=device).manual_seed(seed)


def batch(device="cpu", dtype=torch.float32, length=500):
    return torch.randn(4, 12, length, generator=seeded(123)).to(device, dtype)


def test_baselines_are_registered():
    assert BASELINES <= set(names())


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown augmentation 'gausian'") as err:
        build("gausian", 500)
    assert "gaussian" in str(err.value) and "3kg" in str(err.value)
    with pytest.raises(ValueError, match="unknown"):
        build("gaussian+", 500)


def test_bad_sampling_rate_is_an_error():
    for fs in (0, -100, float("nan")):
        with pytest.raises(ValueError, match="fs"):
            build("gaussian", fs)


def test_single_name_builds_the_class_with_its_options():
    aug = build("gaussian", 100, {"gaussian": {"std": 0.2}})
    assert type(aug).__name__ == "GaussianNoise" and aug.std == 0.2 and aug.fs == 100
    assert build("gaussian", 100).std == 0.05 and build("gaussian", 100, {}).std == 0.05


def test_composition_gives_each_stage_the_options_under_its_name():
    aug = build("3kg+mask+gaussian", 500, {"3kg": {"max_angle": 10}, "mask": {"probability": 0.5}})
    assert isinstance(aug, Compose)
    assert [s.name for s in aug.stages] == ["3kg", "mask", "gaussian"]
    assert aug.stages[0].max_angle == 10 and aug.stages[1].probability == 0.5 and aug.stages[2].std == 0.05


def test_options_of_registered_augmentations_outside_the_name_are_ignored():
    # one mapping (e.g. PretrainConfig.augmentation_options()) serves every augmentation
    aug = build("gaussian", 500, {"advmask": {"n_masks": 3}, "gaussian": {"std": 0.2}})
    assert aug.std == 0.2


def test_an_option_the_stage_does_not_take_names_the_stage_and_its_options():
    with pytest.raises(ValueError, match=r"\['max_angle'\] are not options of 'gaussian'") as err:
        build("gaussian", 100, {"gaussian": {"max_angle": 10}})
    assert "['shared_across_leads', 'std']" in str(err.value)
    # checked even when the stage is not in the name: a typo never passes silently
    with pytest.raises(ValueError, match="'advmask'.*takes .*'n_masks'"):
        build("gaussian", 100, {"advmask": {"n_mask": 3}})


def test_options_for_an_unknown_augmentation_or_of_the_wrong_shape_are_errors():
    with pytest.raises(ValueError, match="'gausian', which is no registered augmentation"):
        build("gaussian", 100, {"gausian": {"std": 0.1}})
    with pytest.raises(TypeError, match="options must map augmentation names"):
        build("gaussian", 100, [("gaussian", {"std": 0.1})])
    with pytest.raises(TypeError, match="the options of 'gaussian' must be a mapping"):
        build("gaussian", 100, {"gaussian": 0.1})


def test_composition_applies_left_to_right_on_one_generator():
    x = batch()
    composed = build("gaussian+blockmask+3kg", 500)(x, seeded(5))
    g = seeded(5)
    expected = build("3kg", 500)(build("blockmask", 500)(build("gaussian", 500)(x, g), g), g)
    torch.testing.assert_close(composed, expected, rtol=0, atol=0)
    # order matters: masking after noise leaves exact zeros, noise after masking does not
    assert (build("gaussian+mask", 500)(x, seeded(0)) == 0).any()
    assert not (build("mask+gaussian", 500)(x, seeded(0)) == 0).any()


def test_none_is_the_identity():
    x = batch()
    assert torch.equal(build("none", 500)(x, seeded(0)), x)


class _FakeAdversarial(Augmentation):
    is_adversarial = True

    def __init__(self, fs: float, n_masks: int = 2):
        super().__init__(fs)
        self.n_masks = n_masks

    def augment(self, x, generator):
        return -x


@pytest.fixture
def fake_registry(monkeypatch):
    monkeypatch.setattr(augment, "_REGISTRY", dict(augment._REGISTRY))
    register("fakeadv")(_FakeAdversarial)


def test_find_advmask_finds_the_adversarial_stage(fake_registry):
    assert find_advmask(build("gaussian", 500)) is None
    assert find_advmask(build("gaussian+3kg", 500)) is None
    single = build("fakeadv", 500, {"fakeadv": {"n_masks": 3}})
    assert find_advmask(single) is single and single.n_masks == 3
    composed = build("fakeadv+3kg", 500, {"fakeadv": {"n_masks": 4}, "3kg": {"max_angle": 5}})
    assert [s.name for s in composed.stages] == ["3kg", "fakeadv"]  # the adversarial stage runs last
    assert find_advmask(composed) is composed.stages[1] and composed.stages[1].n_masks == 4
    x = batch()
    torch.testing.assert_close(composed(x, seeded(1)), -build("3kg", 500, {"3kg": {"max_angle": 5}})(x, seeded(1)))


@pytest.mark.parametrize("name", ["gaussian", "3kg+blockmask"])
def test_adversarial_view_without_a_masker_is_the_view_without_a_graph(name):
    aug = build(name, 500)
    x = batch().requires_grad_(True)
    view, masks = aug.adversarial_view(x, seeded(4))
    assert masks is None and not view.requires_grad
    torch.testing.assert_close(view, aug(x, seeded(4)), rtol=0, atol=0)


def test_a_composition_with_its_adversarial_stage_before_the_last_is_refused(fake_registry):
    composed = Compose(500, [build("fakeadv", 500), build("gaussian", 500)])
    with pytest.raises(ValueError, match="'fakeadv' must be the last stage"):
        composed.adversarial_view(batch(), seeded(0))


def test_register_rejects_bad_names_and_classes(fake_registry):
    for bad in ("", "a+b", " gaussian"):
        with pytest.raises(ValueError):
            register(bad)
    with pytest.raises(TypeError):
        register("notaug")(dict)

    class Other(Augmentation):
        def augment(self, x, generator):
            return x

    with pytest.raises(ValueError, match="already"):
        register("gaussian")(Other)


def test_bad_input_is_a_clear_error():
    aug = build("gaussian", 500)
    with pytest.raises(ValueError, match="shape"):
        aug(torch.zeros(12, 500), seeded(0))
    with pytest.raises(ValueError, match="Generator"):
        aug(batch(), 0)
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="generator is on"):
            aug(batch("cuda"), seeded(0))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", names())
def test_every_augmentation_keeps_shape_dtype_device_and_is_reproducible(name, device):
    torch.manual_seed(0)  # stages with weights (advmask) initialise from the global RNG
    aug = build(name, 100).to(device)
    x = batch(device)
    y = aug(x, seeded(0, device))
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert torch.isfinite(y).all()
    assert torch.equal(y, aug(x, seeded(0, device)))
    if name != "none":
        assert not torch.equal(y, x)
        assert not torch.equal(y, aug(x, seeded(1, device)))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", names())
def test_half_precision_runs_in_float32_and_casts_back(name, dtype):
    torch.manual_seed(0)
    aug = build(name, 100)
    x = batch(dtype=dtype)
    y = aug(x, seeded(0))
    assert y.dtype == dtype and torch.isfinite(y).all()
    torch.testing.assert_close(y, aug(x.float(), seeded(0)).to(dtype), rtol=0, atol=0)
