"""The objectives against brute-force references and the properties method.md states."""

import math

import pytest
import torch

from ecgmask.losses import nt_xent, soft_binarize, sparsity_penalty


def nt_xent_reference(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> float:
    """Double loop over anchors and candidates, in float64, straight from the SimCLR paper."""
    z = torch.cat([z1, z2]).double()
    z = z / z.norm(dim=1, keepdim=True)
    n, b = z.shape[0], z1.shape[0]
    total = 0.0
    for i in range(n):
        positive = (i + b) % n
        denominator = 0.0
        for k in range(n):
            if k != i:
                denominator += math.exp(float(z[i] @ z[k]) / temperature)
        total += -math.log(math.exp(float(z[i] @ z[positive]) / temperature) / denominator)
    return total / n


@pytest.mark.parametrize("batch, dim, temperature", [(2, 3, 0.5), (5, 8, 0.1), (7, 16, 1.0)])
def test_nt_xent_equals_brute_force_reference(generator, batch, dim, temperature):
    z1 = torch.randn(batch, dim, generator=generator)
    z2 = torch.randn(batch, dim, generator=generator)
    got = nt_xent(z1, z2, temperature)
    assert got.dtype == torch.float32 and got.dim() == 0
    assert got.item() == pytest.approx(nt_xent_reference(z1, z2, temperature), rel=1e-5)


def test_nt_xent_default_temperature_is_point_one(generator):
    z1, z2 = torch.randn(2, 4, 6, generator=generator)
    assert nt_xent(z1, z2).item() == pytest.approx(nt_xent_reference(z1, z2, 0.1), rel=1e-5)


def test_nt_xent_is_symmetric_in_the_views(generator):
    z1, z2 = torch.randn(2, 6, 5, generator=generator)
    assert nt_xent(z1, z2).item() == pytest.approx(nt_xent(z2, z1).item(), rel=1e-6)


def test_nt_xent_is_stable_for_large_norms_at_temperature_point_one(generator):
    z1 = 1e4 * torch.randn(6, 8, generator=generator)
    z2 = z1 + 1e3 * torch.randn(6, 8, generator=generator)
    z1.requires_grad_(True)
    loss = nt_xent(z1, z2, 0.1)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z1.grad).all()
    # cosine similarity does not see the scale
    assert loss.item() == pytest.approx(nt_xent_reference(z1.detach(), z2, 0.1), rel=1e-5)


def test_nt_xent_on_float16_inputs_is_finite_float32_and_right(generator):
    z1 = (100 * torch.randn(6, 8, generator=generator)).half()
    z2 = (100 * torch.randn(6, 8, generator=generator)).half()
    loss = nt_xent(z1, z2, 0.1)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert loss.item() == pytest.approx(nt_xent_reference(z1.float(), z2.float(), 0.1), rel=1e-4)


def test_nt_xent_is_low_for_matching_views_and_high_for_swapped_ones(generator):
    z = torch.randn(8, 32, generator=generator)
    aligned = nt_xent(z, z + 0.01 * torch.randn(8, 32, generator=generator))
    shuffled = nt_xent(z, z.roll(1, dims=0))
    assert aligned < 0.1 < shuffled


def test_nt_xent_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        nt_xent(torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="shape"):
        nt_xent(torch.zeros(4), torch.zeros(4))


def test_soft_binarize_is_the_sigmoid_with_slope_k():
    m = torch.linspace(0, 1, 101)
    assert torch.allclose(soft_binarize(m), torch.sigmoid(50 * (m - 0.5)))
    assert torch.allclose(soft_binarize(m, k=100), torch.sigmoid(100 * (m - 0.5)))
    assert soft_binarize(torch.tensor(0.5)).item() == 0.5
    assert soft_binarize(torch.tensor(0.0)).item() < 1e-10
    assert soft_binarize(torch.tensor(1.0)).item() > 1 - 1e-10
    assert (soft_binarize(m).diff() >= 0).all()


def test_soft_binarize_passes_a_gradient_at_the_threshold():
    m = torch.tensor([0.5, 0.45, 0.6], requires_grad=True)
    soft_binarize(m, k=50).sum().backward()
    assert m.grad[0].item() == pytest.approx(50 / 4)
    assert (m.grad > 0).all()


def constant_masks(occupancy: float, batch: int = 3, n: int = 2, length: int = 200) -> torch.Tensor:
    return torch.full((batch, n, length), occupancy)


@pytest.mark.parametrize("ratio", [1.0, 0.8])
def test_sparsity_penalty_is_smallest_at_occupancy_one_over_two_r(ratio):
    best = 1 / (2 * ratio)
    grid = [best + d for d in (-0.4, -0.3, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2)]
    grid = [p for p in grid if 0 < p < 1 / ratio]
    values = [sparsity_penalty(constant_masks(p), alpha=1.0, ratio=ratio).item() for p in grid]
    low = [v for p, v in zip(grid, values) if p < best]
    high = [v for p, v in zip(grid, values) if p > best]
    at_best = values[grid.index(best)]
    assert at_best == pytest.approx(2.0, rel=1e-5)  # two masks at sin(pi/2) = 1
    assert low and high
    # rises on both sides: decreasing up to 1/(2R), increasing after
    assert all(a > b for a, b in zip(low, low[1:] + [at_best]))
    assert all(a < b for a, b in zip([at_best] + high, high))


def test_sparsity_penalty_formula_and_scaling(generator):
    masks = torch.rand(4, 3, 50, generator=generator)
    p = masks.mean(dim=2)
    expected = 0.5 * (1 / (torch.sin(math.pi * 0.8 * p) + 1e-10)).mean(dim=0).sum()
    got = sparsity_penalty(masks, alpha=0.5, ratio=0.8)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    assert sparsity_penalty(masks, alpha=0.1, ratio=0.8).item() == pytest.approx(got.item() / 5, rel=1e-6)


def test_sparsity_penalty_gradient_pushes_occupancy_towards_one_over_two_r():
    for occupancy, sign in ((0.2, -1), (0.8, 1)):
        masks = constant_masks(occupancy).requires_grad_(True)
        sparsity_penalty(masks, alpha=1.0, ratio=1.0).backward()
        # gradient descent moves the masks against the gradient: up from 0.2, down from 0.8
        assert (torch.sign(masks.grad) == sign).all()


def test_sparsity_penalty_wants_three_dimensional_masks():
    with pytest.raises(ValueError, match=r"\(B, N, L\)"):
        sparsity_penalty(torch.zeros(3, 10), alpha=1.0, ratio=1.0)


@pytest.mark.parametrize("ratio", [1.0, 0.8])
def test_sparsity_penalty_is_largest_not_negative_for_a_full_mask(ratio):
    # float32 sin(pi) is -8.7e-8: unclamped, a mask of exactly 1 scored about -1e7 at R = 1
    full = sparsity_penalty(torch.ones(2, 2, 50), alpha=1.0, ratio=ratio)
    nearly = sparsity_penalty(constant_masks(0.99), alpha=1.0, ratio=ratio)
    assert torch.isfinite(full) and full.item() > 0
    assert full.item() >= nearly.item()
    masks = torch.ones(2, 2, 50, requires_grad=True)
    sparsity_penalty(masks, alpha=1.0, ratio=ratio).backward()
    assert torch.isfinite(masks.grad).all()
