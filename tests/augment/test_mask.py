import torch

from ecgmask.augment import build


def test_zeroes_about_20_percent_of_time_steps_on_all_leads(generator):
    x = torch.randn(4, 12, 500) + 10  # never zero
    y = build("mask", 500)(x, generator)
    zero = y == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))  # a step is masked on every lead
    assert 0.16 < zero.float().mean() < 0.24
    assert torch.equal(y[~zero], x[~zero])


def test_per_lead_masks_leads_independently(generator):
    x = torch.randn(4, 12, 500) + 10
    zero = build("mask", 500, {"mask": {"per_lead": True, "probability": 0.5}})(x, generator) == 0
    assert not torch.equal(zero, zero[:, :1].expand_as(zero))
    assert 0.45 < zero.float().mean() < 0.55
