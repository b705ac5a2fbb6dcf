"""Encoder checkpoints: the one format pretraining writes and transfer reads.

A checkpoint is a directory. `encoder.pt` holds what transfer needs (the encoder's
constructor arguments and weights, plus the pretraining config for provenance); the
pretraining loop adds `state.pt` with the full resumable state.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ecgmask.models.resnet1d import ResNet1d18

ENCODER_FILE = "encoder.pt"


def save_encoder(directory: str | os.PathLike, encoder: ResNet1d18, pretrain_config: dict | None = None) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ENCODER_FILE
    tmp = path.with_suffix(".tmp")
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    torch.save({"model_config": dict(encoder.config), "state_dict": state, "pretrain_config": pretrain_config or {}}, tmp)
    os.replace(tmp, path)
    return path


def load_encoder(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> tuple[ResNet1d18, dict]:
    """Returns (encoder, pretrain_config). Raises FileNotFoundError naming the path."""
    path = Path(directory) / ENCODER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no encoder checkpoint here (expected {ENCODER_FILE} written by pretraining)")
    blob = torch.load(path, map_location=map_location, weights_only=False)
    cfg = blob["model_config"]
    encoder = ResNet1d18(in_leads=cfg["in_leads"], width=cfg["width"], blocks=tuple(cfg["blocks"]))
    encoder.load_state_dict(blob["state_dict"])
    return encoder, blob.get("pretrain_config", {})
