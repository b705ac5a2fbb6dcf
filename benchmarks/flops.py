"""The work of a step in FLOPs, and the machine's limit to read it against (benchmarks/step.py).

`count_flops(fn)` runs `fn` once under `torch.utils.flop_counter.FlopCounterMode` and returns
the FLOPs of the matrix products it ran: convolutions (also transposed) forward and backward
(the backward counts only the gradients autograd computes, so a first convolution whose input
needs no gradient costs 1x forward in backward, not 2x), linear layers and matmuls (NT-Xent's
similarity matrix included). Elementwise work (activations, BatchNorm, Adam) is not counted: it
is memory-bound and small next to the convolutions.

`sgemm_seconds(n)` times one float32 n x n matmul (2 n^3 FLOPs) at the current torch thread
count: the rate the machine reaches on the best-case dense kernel.
"""

from __future__ import annotations

import time

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_flops(fn) -> int:
    """FLOPs of the matrix products `fn()` runs (forward and any backward inside it)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def sgemm_flops(n: int) -> int:
    return 2 * n**3


def sgemm_operands(n: int, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator)
    b = torch.randn(n, n, generator=generator)
    return a.to(device), b.to(device)


def sgemm_seconds(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None = None) -> float:
    """Wall time of one a @ b (into `out` when given: no allocation in the timed call)."""
    if a.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    torch.matmul(a, b, out=out)
    if a.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start
