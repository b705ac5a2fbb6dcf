import torch

from ecgmask.augment import build


def test_adds_a_per_lead_constant_on_one_segment():
    x = torch.randn(64, 12, 500)
    g = torch.Generator().manual_seed(0)
    d = build("shift", 500)(x, g) - x
    on = d.abs() > 1e-4
    # the same segment on every lead, one contiguous run
    assert torch.equal(on, on[:, :1].expand_as(on))
    on = on[:, 0].int()
    assert ((on[:, 1:] - on[:, :-1]) == 1).sum(-1).le(1).all()
    assert ((on[:, 1:] - on[:, :-1]) == -1).sum(-1).le(1).all()
    lengths = on.sum(-1).float()
    assert (lengths >= 1).all() and 90 < lengths.mean() < 110  # N(0.2 T, 0.04 T), T = 500
    # piecewise constant: one value per lead on the segment, magnitude in [0.75, 1.25]
    seg = on.bool()[:, None, :].expand_as(d)
    level = (d * seg).sum(-1) / seg.sum(-1)
    torch.testing.assert_close(torch.where(seg, d, level[..., None]), level[..., None].expand_as(d), atol=1e-5, rtol=0)
    assert (level.abs() >= 0.75 - 1e-5).all() and (level.abs() <= 1.25 + 1e-5).all()
    assert (level > 0).any() and (level < 0).any()
