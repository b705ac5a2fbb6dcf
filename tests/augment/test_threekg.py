import pytest
import torch

from ecgmask.augment import build
from ecgmask.augment.threekg import BACK_PROJECTION, INDEPENDENT_LEADS, INVERSE_DOWER, rotation_matrices


def check_limb_leads(y, atol=1e-5):
    i, ii = y[:, 0], y[:, 1]
    torch.testing.assert_close(y[:, 2], ii - i, atol=atol, rtol=0)
    torch.testing.assert_close(y[:, 3], -(i + ii) / 2, atol=atol, rtol=0)
    torch.testing.assert_close(y[:, 4], i - ii / 2, atol=atol, rtol=0)
    torch.testing.assert_close(y[:, 5], ii - i / 2, atol=atol, rtol=0)


def test_identity_transform_is_the_dipole_projection(generator):
    x = torch.randn(4, 12, 500)
    y = build("3kg", 500, {"3kg": {"max_angle": 0, "scale": (1, 1)}})(x, generator)
    projection = (BACK_PROJECTION @ INVERSE_DOWER).float()
    y8 = projection @ x[:, INDEPENDENT_LEADS]
    torch.testing.assert_close(y[:, INDEPENDENT_LEADS], y8, atol=1e-5, rtol=1e-5)
    check_limb_leads(y)


def test_random_rotations_keep_limb_identities_and_rank_three(generator):
    x = torch.randn(4, 12, 500)
    y = build("3kg", 500)(x, generator)
    check_limb_leads(y)
    s = torch.linalg.svdvals(y[:, INDEPENDENT_LEADS].double())
    assert (s[:, 3] < 1e-5 * s[:, 0]).all()  # the 8 leads come from a 3-D dipole
    identity = build("3kg", 500, {"3kg": {"max_angle": 0, "scale": (1, 1)}})(x, generator)
    assert (y - identity).abs().amax(dim=(1, 2)).min() > 0.1  # every sample transformed


def test_rotation_matrices_are_rotations(generator):
    angles = torch.rand(16, 3, generator=generator) * 6 - 3
    r = rotation_matrices(angles.double())
    torch.testing.assert_close(r @ r.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(16, 3, 3))
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(16, dtype=torch.float64))


def test_needs_twelve_leads(generator):
    with pytest.raises(ValueError, match="12 leads"):
        build("3kg", 500)(torch.randn(2, 8, 100), generator)
