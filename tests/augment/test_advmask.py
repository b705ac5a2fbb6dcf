import pytest
import torch

from ecgmask.augment import Compose, build, find_advmask, names
from ecgmask.augment.advmask import AdvMask, reverse_gradient
from ecgmask.losses import soft_binarize

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def seeded(seed, device="cpu"):
    return torch.Generator(device=device).manual_seed(seed)


def batch(b=6, length=120, device="cpu"):
    return torch.randn(b, 12, length, generator=seeded(7)).to(device)


def test_registered_as_advmask_with_its_options():
    assert "advmask" in names()
    aug = build("advmask", 500, {"advmask": {"n_masks": 3, "k": 100.0, "width": 4}})
    assert isinstance(aug, AdvMask) and aug.is_adversarial
    assert aug.n_masks == 3 and aug.k == 100.0 and aug.masker.config["width"] == 4
    assert aug.masker.config["n_masks"] == 3
    assert find_advmask(aug) is aug


def test_advmask_plus_3kg_is_3kg_first_then_the_mask():
    aug = build("advmask+3kg", 500, {"advmask": {"width": 4}})
    # method.md: "advmask + 3kg: 3KG applied, then the adversarial mask"; the masker sees
    # and masks the 3KG view, which is the view the encoder is trained on
    assert isinstance(aug, Compose)
    assert [s.name for s in aug.stages] == ["3kg", "advmask"]
    assert find_advmask(aug) is aug.stages[1]
    x = batch()
    g = seeded(3)
    torch.testing.assert_close(aug(x, seeded(3)), aug.stages[1](aug.stages[0](x, g), g), rtol=0, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_keeps_shape_dtype_device_and_is_reproducible(device):
    torch.manual_seed(0)
    aug = build("advmask", 500, {"advmask": {"width": 4}}).to(device)
    x = batch(device=device)
    a = aug(x, seeded(1, device))
    b = aug(x, seeded(1, device))
    assert a.shape == x.shape and a.dtype == x.dtype and a.device == x.device
    assert torch.equal(a, b)
    assert not a.requires_grad  # outside pretraining: no graph to the masker


def test_float16_batches_come_back_float16():
    torch.manual_seed(0)
    aug = build("advmask", 500, {"advmask": {"width": 4}})
    x = batch().half()
    assert aug(x, seeded(1)).dtype == torch.float16


def test_two_masks_one_drawn_per_sample_and_applied_to_all_leads():
    torch.manual_seed(0)
    aug = AdvMask(500, n_masks=2, width=4)
    x = batch(b=32)
    masks = aug.masks(x).detach()
    out = aug.apply(x, masks, seeded(5))
    keep = 1 - soft_binarize(masks, 50.0)  # (B, 2, L)
    chosen = []
    for i in range(x.shape[0]):
        matches = [n for n in range(2) if torch.allclose(out[i], x[i] * keep[i, n], atol=1e-6)]
        assert matches, f"sample {i} is not x * (1 - soft mask) for any of the masks"
        chosen.append(matches[0])
    assert set(chosen) == {0, 1}  # both masks get drawn over 32 samples


def test_twelve_masks_one_per_lead():
    torch.manual_seed(0)
    aug = AdvMask(500, n_masks=12, width=4)
    x = batch()
    masks = aug.masks(x).detach()
    assert masks.shape == (6, 12, 120)
    out = aug.apply(x, masks, seeded(5))
    assert torch.allclose(out, x * (1 - soft_binarize(masks, 50.0)), atol=1e-6)


def test_one_mask_applies_that_mask_everywhere():
    torch.manual_seed(0)
    aug = AdvMask(500, n_masks=1, width=4)
    x = batch()
    masks = aug.masks(x).detach()
    out = aug.apply(x, masks, seeded(5))
    assert torch.allclose(out, x * (1 - soft_binarize(masks, 50.0)), atol=1e-6)


def test_masked_view_is_differentiable_with_respect_to_the_masks():
    torch.manual_seed(0)
    aug = AdvMask(500, n_masks=2, width=4)
    x = batch()
    masks = aug.masks(x)
    aug.apply(x, masks, seeded(5)).pow(2).sum().backward()
    grads = [p.grad for p in aug.masker.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_the_draw_comes_from_the_generator():
    torch.manual_seed(0)
    aug = AdvMask(500, n_masks=2, width=4)
    x = batch(b=32)
    masks = aug.masks(x).detach()
    outs = [aug.apply(x, masks, seeded(s)) for s in (1, 1, 2)]
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="12 leads"):
        AdvMask(500, n_masks=12, in_leads=8)
    aug = AdvMask(500, n_masks=2, width=4)
    with pytest.raises(ValueError, match="advmask"):
        aug.masks(torch.zeros(2, 8, 100))
    with pytest.raises(ValueError, match="advmask"):
        aug.apply(torch.zeros(2, 12, 100), torch.zeros(2, 3, 100), seeded(0))
    with pytest.raises(ValueError, match="advmask"):
        aug(torch.zeros(2, 12, 100), "not a generator")


def test_reverse_gradient_is_the_identity_forward_and_flips_the_gradient():
    x = torch.randn(3, 4, requires_grad=True)
    y = reverse_gradient(x)
    assert torch.equal(y, x)
    (y * torch.arange(4.0)).sum().backward()
    assert torch.equal(x.grad, -torch.arange(4.0).expand(3, 4))


@pytest.mark.parametrize("name", ["advmask", "advmask+3kg"])
def test_adversarial_view_is_the_augmented_view_and_its_raw_masks(name):
    torch.manual_seed(0)
    aug = build(name, 500, {"advmask": {"width": 4}})
    adversarial = find_advmask(aug)
    x = batch()
    view, masks = aug.adversarial_view(x, seeded(2))
    torch.testing.assert_close(view, aug(x, seeded(2)), rtol=0, atol=0)  # the same draws
    assert masks.shape == (6, 2, 120) and masks.requires_grad
    g = seeded(2)
    stage_input = aug.stages[0](x, g) if name == "advmask+3kg" else x
    torch.testing.assert_close(masks, adversarial.masks(stage_input))


def test_adversarial_view_sends_the_masker_the_reversed_gradient_of_the_view_and_the_plain_one_of_the_masks():
    torch.manual_seed(0)
    aug = AdvMask(500, n_masks=2, width=4)
    params = list(aug.masker.parameters())
    x = batch()
    view, masks = aug.adversarial_view(x, seeded(5))
    through_view = torch.autograd.grad(view.pow(2).sum(), params, retain_graph=True)
    through_masks = torch.autograd.grad(masks.sum(), params)
    plain_masks = aug.masks(x)
    plain_view = aug.apply(x, plain_masks, seeded(5))
    expected_view = torch.autograd.grad(plain_view.pow(2).sum(), params, retain_graph=True)
    expected_masks = torch.autograd.grad(plain_masks.sum(), params)
    for got, want in zip(through_view, expected_view):
        torch.testing.assert_close(got, -want)
    for got, want in zip(through_masks, expected_masks):
        torch.testing.assert_close(got, want)


def test_stages_before_the_mask_build_no_graph():
    torch.manual_seed(0)
    aug = build("advmask+3kg", 500, {"advmask": {"width": 4}})
    x = batch().requires_grad_(True)
    view, masks = aug.adversarial_view(x, seeded(1))
    view.sum().backward()
    assert x.grad is None  # 3KG ran without a graph: only the masker is reached
    assert all(p.grad is not None for p in find_advmask(aug).masker.parameters())
