"""Where tensors run: one rule for pretraining and transfer."""

from __future__ import annotations

from contextlib import nullcontext

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" is CUDA when present, else CPU; asking for CUDA without one is a clear error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} but CUDA is not available on this machine")
    return resolved


def autocast(device: torch.device):
    """fp16 autocast on CUDA; nothing on CPU (keeps CPU runs exact and deterministic)."""
    return torch.autocast("cuda", dtype=torch.float16) if device.type == "cuda" else nullcontext()
