import torch

from ecgmask.augment import build


def test_adds_independent_noise_of_std_0_05(generator):
    x = torch.randn(4, 12, 500)
    noise = build("gaussian", 500)(x, generator) - x
    assert abs(noise.std().item() - 0.05) < 0.002
    assert abs(noise.mean().item()) < 0.002
    # per lead: two leads of one sample are uncorrelated
    corr = torch.corrcoef(noise[:, :2].transpose(0, 1).reshape(2, -1))[0, 1]
    assert abs(corr.item()) < 0.1


def test_shared_across_leads_repeats_one_vector(generator):
    x = torch.zeros(4, 12, 500)
    noise = build("gaussian", 500, {"gaussian": {"shared_across_leads": True, "std": 0.1}})(x, generator)
    assert torch.equal(noise, noise[:, :1].expand_as(noise))
    assert abs(noise.std().item() - 0.1) < 0.01
