import pytest
import torch

from ecgmask.models import Projector, ResNet1d18


def test_paper_head_is_512_2048_128(generator):
    head = Projector(512)
    assert head.config == {"in_dim": 512, "hidden": 2048, "out_dim": 128}
    assert head(torch.randn(4, 512, generator=generator)).shape == (4, 128)
    assert sum(p.numel() for p in head.parameters()) == 512 * 2048 + 2048 + 2048 * 128 + 128


def test_head_on_a_narrow_encoder(generator):
    encoder = ResNet1d18(width=8)
    head = Projector(encoder.out_dim, hidden=4 * encoder.out_dim, out_dim=16)
    z = head(encoder(torch.randn(3, 12, 100, generator=generator)))
    assert z.shape == (3, 16) and head.out_dim == 16


def test_relu_between_the_two_layers():
    head = Projector(4, hidden=8, out_dim=2)
    assert isinstance(head[1], torch.nn.ReLU)
    with torch.no_grad():
        head[0].weight.copy_(torch.eye(8, 4))
        head[0].bias.zero_()
        head[2].weight.fill_(1.0)
        head[2].bias.zero_()
    # negative hidden units are cut: only the positive inputs count
    assert torch.equal(head(torch.tensor([[1.0, -2.0, 3.0, -4.0]])), torch.tensor([[4.0, 4.0]]))


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="in_dim"):
        Projector(0)
