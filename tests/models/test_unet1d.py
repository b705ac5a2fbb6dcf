import pytest
import torch

from ecgmask.models import UNet1d
from ecgmask.profiles import LAPTOP, PAPER


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("input_pool", [1, 2, 5])
@pytest.mark.parametrize("length", [999, 1000, 1, 17, 64])
def test_any_length_gives_masks_of_that_length(generator, length, input_pool):
    unet = UNet1d(n_masks=2, width=4, input_pool=input_pool)
    masks = unet(torch.randn(2, 12, length, generator=generator))
    assert masks.shape == (2, 2, length)
    assert masks.dtype == torch.float32


@pytest.mark.parametrize("n_masks", [2, 3, 11])
def test_softmax_over_masks_between_one_and_twelve(generator, n_masks):
    masks = UNet1d(n_masks=n_masks, width=4)(torch.randn(3, 12, 50, generator=generator))
    assert masks.shape == (3, n_masks, 50)
    assert torch.allclose(masks.sum(dim=1), torch.ones(3, 50), atol=1e-5)
    assert (masks >= 0).all() and (masks <= 1).all()


@pytest.mark.parametrize("n_masks", [1, 12])
def test_sigmoid_for_one_or_twelve_masks(generator, n_masks):
    unet = UNet1d(n_masks=n_masks, width=4)
    x = torch.randn(3, 12, 50, generator=generator)
    masks = unet(x)
    assert masks.shape == (3, n_masks, 50)
    assert (masks > 0).all() and (masks < 1).all()
    # independent masks: their sum over N is not pinned to one
    assert not torch.allclose(masks.sum(dim=1), torch.ones(3, 50), atol=1e-3)


def test_odd_length_is_zero_padded_then_cropped(generator):
    torch.manual_seed(0)
    unet = UNet1d(n_masks=2, width=8).eval()
    x = torch.randn(2, 12, 999, generator=generator, requires_grad=True)
    masks = unet(x)
    padded = torch.nn.functional.pad(x.detach(), (0, 1024 - 999))  # 1024 = 32 * (input_pool 2 * 2**4)
    torch.testing.assert_close(masks.detach(), unet(padded)[..., :999])
    # the last mask samples still depend on the last input samples
    masks[:, 0, -1].sum().backward()  # (mask 1 is 1 - mask 0: their sum has no gradient)
    assert x.grad[:, :, -3:].abs().sum() > 0


def test_pooled_masker_sees_the_input_at_half_rate(generator):
    # average pooling by 2: swapping the two samples of every pair changes nothing
    torch.manual_seed(0)
    x = torch.randn(2, 12, 64, generator=generator)
    swapped = x.view(2, 12, 32, 2).flip(-1).reshape(2, 12, 64)
    pooled, full = UNet1d(width=4, input_pool=2).eval(), UNet1d(width=4, input_pool=1).eval()
    torch.testing.assert_close(pooled(swapped), pooled(x))
    assert not torch.allclose(full(swapped), full(x))


def test_masker_stays_small():
    # a few million parameters at most (the reference's is ~150 M)
    assert n_params(UNet1d(width=PAPER.masker_width)) < 3_000_000
    assert n_params(UNet1d(width=16)) < 500_000
    assert n_params(UNet1d(width=LAPTOP.masker_width)) < n_params(UNet1d(width=16))


def test_four_down_and_four_up_levels():
    unet = UNet1d()
    assert len(unet.down) == 5  # the input level plus four downsamplings
    assert len(unet.up) == 4
    assert unet.config == {"in_channels": 12, "n_masks": 2, "width": 16, "depth": 4, "kernel_size": 5,
                           "input_pool": 2}


def test_gradient_reaches_every_parameter(generator):
    unet = UNet1d(n_masks=3, width=4)
    masks = unet(torch.randn(2, 12, 80, generator=generator))
    (masks[:, 0] * torch.linspace(-1, 1, 80)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in unet.parameters())


def test_same_weights_same_masks(generator):
    torch.manual_seed(3)
    a = UNet1d(width=4)
    torch.manual_seed(3)
    b = UNet1d(width=4)
    x = torch.randn(2, 12, 100, generator=generator)
    assert torch.equal(a(x), b(x))


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match="n_masks"):
        UNet1d(n_masks=0)
    with pytest.raises(ValueError, match="input_pool"):
        UNet1d(input_pool=0)
    with pytest.raises(ValueError, match="kernel_size"):
        UNet1d(kernel_size=4)
    with pytest.raises(ValueError, match=r"\(B, C, L\)"):
        UNet1d(width=4)(torch.zeros(12, 100))
