import torch

from ecgmask.augment import build


def test_zeroes_the_above_mean_steps_or_their_complement():
    x = torch.randn(32, 12, 200) + 10  # never zero
    g = torch.Generator().manual_seed(0)
    y = build("peakmask", 500)(x, g)
    avg = x.mean(1)
    above = avg > avg.mean(-1, keepdim=True)
    zero = y == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))
    is_above = (zero[:, 0] == above).all(-1)
    is_below = (zero[:, 0] == ~above).all(-1)
    assert (is_above | is_below).all()
    assert is_above.any() and is_below.any()
    assert torch.equal(y[~zero], x[~zero])


def test_complement_probability_one_always_keeps_the_peaks(generator):
    x = torch.randn(8, 12, 200) + 10
    y = build("peakmask", 500, {"peakmask": {"complement_probability": 1.0}})(x, generator)
    avg = x.mean(1)
    assert torch.equal(y[:, 0] == 0, avg <= avg.mean(-1, keepdim=True))
