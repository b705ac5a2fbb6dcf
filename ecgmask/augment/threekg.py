"""3KG: rotate and scale the heart's electrical axis in vectorcardiogram space (method.md)."""

from __future__ import annotations

import math

import torch

from ecgmask.augment import register
from ecgmask.augment.base import Augmentation, uniform

# Inverse Dower matrix: rows X, Y, Z; columns I, II, V1..V6 (method.md).
INVERSE_DOWER = torch.tensor(
    [
        [0.156, -0.009, -0.172, -0.073, 0.122, 0.231, 0.239, 0.193],
        [-0.227, 0.886, 0.057, -0.019, -0.106, -0.022, 0.040, 0.048],
        [0.021, 0.102, -0.228, -0.310, -0.245, -0.063, 0.054, 0.108],
    ],
    dtype=torch.float64,
)
BACK_PROJECTION = torch.linalg.pinv(INVERSE_DOWER)  # (8, 3)
INDEPENDENT_LEADS = [0, 1, 6, 7, 8, 9, 10, 11]  # I, II, V1..V6 in the standard lead order


def rotation_matrices(angles: torch.Tensor) -> torch.Tensor:
    """(B, 3) Euler angles in radians about X, Y, Z -> (B, 3, 3) rotations Rz @ Ry @ Rx."""
    c, s = torch.cos(angles), torch.sin(angles)
    one, zero = torch.ones_like(c[:, 0]), torch.zeros_like(c[:, 0])

    def mat(rows):
        return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)

    rx = mat([[one, zero, zero], [zero, c[:, 0], -s[:, 0]], [zero, s[:, 0], c[:, 0]]])
    ry = mat([[c[:, 1], zero, s[:, 1]], [zero, one, zero], [-s[:, 1], zero, c[:, 1]]])
    rz = mat([[c[:, 2], -s[:, 2], zero], [s[:, 2], c[:, 2], zero], [zero, zero, one]])
    return rz @ ry @ rx


def limb_leads(lead_i: torch.Tensor, lead_ii: torch.Tensor) -> list[torch.Tensor]:
    """III, aVR, aVL, aVF from I and II (Einthoven and Goldberger)."""
    return [lead_ii - lead_i, -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2, lead_ii - lead_i / 2]


@register("3kg")
class ThreeKG(Augmentation):
    """Leads I, II, V1..V6 -> VCG (inverse Dower) -> rotation by Euler angles each
    U[-max_angle, max_angle] degrees, then each axis scaled by U[scale] -> back to the 8 leads
    by the pseudo-inverse; III, aVR, aVL, aVF rebuilt from I and II. Drawn per sample.

    With max_angle=0 and scale=(1, 1) this is the rank-3 dipole projection pinv(D) D x8.
    """

    def __init__(self, fs: float, max_angle: float = 45.0, scale: tuple[float, float] = (1.0, 1.5)):
        super().__init__(fs)
        low, high = (float(v) for v in scale)
        if not 0 < low <= high:
            raise ValueError(f"3kg: scale must be (low, high) with 0 < low <= high, got {scale}")
        self.max_angle = float(max_angle)
        self.scale = (low, high)

    def augment(self, x, generator):
        b, leads, _ = x.shape
        if leads != 12:
            raise ValueError(f"3kg: wants 12 leads in the standard order, got {leads}")
        limit = math.radians(self.max_angle)
        angles = uniform(generator, (b, 3), -limit, limit)
        scales = uniform(generator, (b, 3), *self.scale)
        dower = INVERSE_DOWER.to(x.device, x.dtype)
        back = BACK_PROJECTION.to(x.device, x.dtype)
        transform = scales.to(x.dtype)[:, :, None] * rotation_matrices(angles).to(x.dtype)  # S @ R
        mixing = back @ transform @ dower  # (B, 8, 8)
        y8 = mixing @ x[:, INDEPENDENT_LEADS, :]
        lead_i, lead_ii = y8[:, 0], y8[:, 1]
        return torch.stack([lead_i, lead_ii, *limb_leads(lead_i, lead_ii), *y8[:, 2:].unbind(1)], dim=1)

    def extra_repr(self):
        return f"fs={self.fs:g}, max_angle={self.max_angle}, scale={self.scale}"
