"""The FLOP count of benchmarks/step.py against a hand count on tiny models."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

_spec = importlib.util.spec_from_file_location("flops", Path(__file__).parents[2] / "benchmarks" / "flops.py")
flops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(flops)

B, C_IN, C_OUT, K, L, HIDDEN = 2, 3, 4, 5, 10, 6
# conv: 2 * out elements (B * C_OUT * L, padding keeps L) * C_IN * K
CONV = 2 * (B * C_OUT * L) * C_IN * K  # 2400
# linear: 2 * in * out * batch
LINEAR = 2 * (C_OUT * L) * HIDDEN * B  # 960


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(C_IN, C_OUT, K, padding=K // 2), nn.ReLU(), nn.Flatten(), nn.Linear(C_OUT * L, HIDDEN))


def test_forward_is_the_hand_count_of_conv_and_linear():
    model, x = _model(), torch.randn(B, C_IN, L)
    assert flops.count_flops(lambda: model(x)) == CONV + LINEAR


def test_backward_is_twice_forward_and_the_first_input_gradient_only_when_needed():
    model = _model()
    x = torch.randn(B, C_IN, L)
    # no input gradient: the first conv's backward is its weight gradient alone (1x forward)
    assert flops.count_flops(lambda: model(x).sum().backward()) == 3 * LINEAR + 2 * CONV
    x.requires_grad_(True)  # as advmask's masked input: input and weight gradient (2x forward)
    assert flops.count_flops(lambda: model(x).sum().backward()) == 3 * (LINEAR + CONV)


def test_transposed_conv_counts_each_input_element_against_its_kernel():
    torch.manual_seed(0)
    up = nn.ConvTranspose1d(C_IN, C_OUT, 2, stride=2)
    x = torch.randn(B, C_IN, L)
    # each of the B * C_IN * L inputs meets C_OUT * 2 weights (output length 2L)
    assert flops.count_flops(lambda: up(x)) == 2 * (B * C_IN * L) * C_OUT * 2


def test_sgemm_times_a_real_product():
    a, b = flops.sgemm_operands(64)
    out = torch.empty(64, 64)
    flops.sgemm_seconds(a, b, out=out)
    torch.testing.assert_close(out, a @ b)
    assert flops.sgemm_flops(64) == 2 * 64**3
