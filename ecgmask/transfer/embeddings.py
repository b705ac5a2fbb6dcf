"""Frozen-encoder embeddings of a downstream cache, computed once per (checkpoint, cache)."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ecgmask.checkpoint import ENCODER_FILE
from ecgmask.device import autocast, resolve_device

log = logging.getLogger(__name__)


def embeddings_path(cache_dir: str | os.PathLike, cache) -> Path:
    return Path(cache_dir) / f"embeddings-{cache.meta['key']}.npy"


def _stored(path: Path, n: int, encoder_file: Path) -> np.ndarray | None:
    """The stored embeddings when they are usable: readable, N rows, newer than the encoder."""
    if not path.is_file():
        return None
    if encoder_file.is_file() and encoder_file.stat().st_mtime_ns > path.stat().st_mtime_ns:
        log.warning("%s: older than %s, recomputing", path, encoder_file)
        return None
    try:
        stored = np.load(path)
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable (%s), recomputing", path, exc)
        return None
    if stored.ndim != 2 or stored.shape[0] != n:
        log.warning("%s: shape %s does not match a cache of %d windows, recomputing", path, stored.shape, n)
        return None
    return stored


@torch.no_grad()
def compute_embeddings(
    encoder: nn.Module,
    cache,
    *,
    indices: np.ndarray | None = None,
    batch_size: int = 256,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> np.ndarray:
    """(n, D) float32 features of the encoder in eval mode over `indices` (all windows by default)."""
    device = resolve_device(device)
    indices = np.arange(len(cache)) if indices is None else np.asarray(indices)
    was_training = encoder.training
    encoder.to(device).eval()
    out = []
    try:
        starts = range(0, len(indices), batch_size)
        for start in tqdm(starts, desc="embeddings", unit="batch", disable=not progress):
            x = cache.batch(indices[start : start + batch_size]).to(device, non_blocking=True)
            with autocast(device):
                out.append(encoder(x).float().cpu())
    finally:
        encoder.train(was_training)
    if not out:
        return np.zeros((0, getattr(encoder, "out_dim", 0)), dtype=np.float32)
    return torch.cat(out).numpy()


def embeddings(
    encoder: nn.Module,
    cache,
    cache_dir: str | os.PathLike | None = None,
    *,
    batch_size: int = 256,
    device: str | torch.device = "auto",
    progress: bool = False,
) -> np.ndarray:
    """(N, D) embeddings of every window of `cache` by the frozen `encoder` (eval mode).

    With `cache_dir` (the checkpoint directory) they are stored once as
    `cache_dir/embeddings-<cache key>.npy` (written to a unique temporary name and renamed, so
    concurrent probes of one checkpoint never see a partial file) and reused by every later
    call: every task and fraction probes the same features. A stored file is recomputed when
    it is unreadable, has the wrong number of rows, or is older than `cache_dir/encoder.pt`.
    """
    if cache_dir is None:
        return compute_embeddings(encoder, cache, batch_size=batch_size, device=device, progress=progress)
    path = embeddings_path(cache_dir, cache)
    stored = _stored(path, len(cache), Path(cache_dir) / ENCODER_FILE)
    if stored is not None:
        return stored
    values = compute_embeddings(encoder, cache, batch_size=batch_size, device=device, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.save(f, values)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return values
