import pytest
import torch

from ecgmask.augment import build


@pytest.mark.parametrize("length", [500, 503])
def test_each_lead_zeroes_one_block_of_a_fifth(generator, length):
    x = torch.randn(4, 12, length) + 10  # never zero
    y = build("blockmask", 500)(x, generator)
    zero = (y == 0).int()
    assert (zero.sum(-1) == round(0.2 * length)).all()
    starts = (zero[..., 1:] - zero[..., :-1] == 1).sum(-1) + zero[..., 0]
    assert (starts == 1).all()  # exactly one contiguous run per lead
    assert torch.equal(y[zero == 0], x[zero == 0])
    first = zero.argmax(-1)
    assert first.unique().numel() > 10  # starts drawn per lead
