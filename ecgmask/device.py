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


class GpuNotVisible(RuntimeError):
    """A process was given GPUs (by a scheduler) but torch finds no CUDA device."""


def check_gpus_visible(gpu_ids, device: str | torch.device = "auto") -> None:
    """A trial given GPUs must see one, unless its settings chose the CPU (`device="cpu"`).

    Without this a node whose driver or CUDA build is broken runs "auto" on the CPU: the trial
    succeeds 10-100x slower while holding a GPU nobody else can use. The error names the node
    (its host name) and what the process was given.
    """
    chose_cpu = str(device) != "auto" and torch.device(str(device)).type == "cpu"
    if not gpu_ids or chose_cpu or torch.cuda.is_available():
        return
    import os
    import socket

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    raise GpuNotVisible(
        f"node {socket.gethostname()}: given GPU {','.join(str(g) for g in gpu_ids)} "
        f"(CUDA_VISIBLE_DEVICES={visible!r}) but torch {torch.__version__} finds no CUDA device; "
        "fix the node's driver, or choose the CPU explicitly (--set pretrain.device=cpu --set probe.device=cpu)"
    )
