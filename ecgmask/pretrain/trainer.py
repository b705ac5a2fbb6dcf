"""One pretraining run: `Pretrainer` (the SimCLR / adversarial step and the epoch loop) and
its resumable state (`state_dict`, `save_checkpoint`, `from_checkpoint`, `STATE_FILE`).

One step per micro-batch, for every augmentation: view 1 is the normalised ECG, view 2 comes
from `augmentation.adversarial_view(x, generator)`; one forward of the encoder and projector
per view (BatchNorm statistics per view) and ONE backward of

    NT-Xent(x, view 2) + sparsity_penalty(masks)        (the penalty only with a masker)

For an adversarial augmentation view 2 reaches the raw masks through a gradient reversal
(`ecgmask.augment.advmask.reverse_gradient`), so that backward leaves in the encoder and
projector the gradient of NT-Xent(x, x * (1 - m~)) with the masks as constants, and in the
masker the gradient of -NT-Xent + L_sp (method.md, Objectives): both gradients of the same
weights, taken before either optimiser steps. Gradients accumulate over `accumulation`
micro-batches (each scaled by 1 / their number); then both optimisers step through the one
GradScaler (AMP on CUDA), which skips the step of an optimiser whose gradients overflowed and
lowers the scale once for the update.

Settings that change what shapes the masks (`PretrainConfig`): `masker_objective`
("sparsity_only": the view gets the masks detached, so the masker's gradient is the sparsity
penalty's alone), `sparsity_on` ("binarised": the penalty on the soft-binarised masks the
view applies instead of the raw ones) and `mask_threshold` (the binarisation midpoint).
After every epoch of an adversarial run the masks are measured on a fixed probe of windows
(`ecgmask.pretrain.mask_stats`: occupancy, masked time, QRS shares) and the values join the
epoch's metrics.
"""

from __future__ import annotations

import math
import os
import random
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ecgmask.augment import build, find_advmask
from ecgmask.checkpoint import save_encoder
from ecgmask.device import resolve_device
from ecgmask.losses import nt_xent, sparsity_penalty
from ecgmask.models import Projector, ResNet1d18
from ecgmask.pretrain.config import PretrainConfig

STATE_FILE = "state.pt"


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


class BatchLosses(NamedTuple):
    """What one micro-batch's backward measured, all detached."""

    nt_xent: torch.Tensor  # NT-Xent(x, view 2)
    masker_loss: torch.Tensor | None  # -NT-Xent + sparsity penalty (adversarial only)
    sparsity: torch.Tensor | None  # the sparsity penalty (adversarial only)
    masks: torch.Tensor | None  # raw masks (B, N, L) (adversarial only)


class Pretrainer:
    """One pretraining run over `cache` (all its windows, or `indices`)."""

    def __init__(self, config: PretrainConfig, cache, indices=None):
        self.config = config
        self.cache = cache
        self.device = resolve_device(config.device)
        self.amp = bool(config.amp and self.device.type == "cuda")
        meta = getattr(cache, "meta", None) or {}
        if "fs" not in meta:
            raise ValueError(f"{getattr(cache, 'path', cache)}: the cache has no sampling rate (meta['fs'])")
        self.fs = float(meta["fs"])
        if indices is None:
            self.indices = np.arange(len(cache), dtype=np.int64)
        else:
            self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
            if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= len(cache)):
                raise ValueError(f"{getattr(cache, 'path', 'cache')}: pretraining indices outside 0..{len(cache) - 1}")
        if len(self.indices) < 2:
            where = getattr(cache, "path", "cache")
            raise ValueError(f"{where}: pretraining needs at least 2 windows, got {len(self.indices)}")

        # every weight is drawn from the seed, before any other draw
        torch.manual_seed(config.seed)
        np.random.seed(config.seed % 2**32)
        random.seed(config.seed)
        self.encoder = ResNet1d18(width=config.width).to(self.device)
        self.projector = Projector(self.encoder.out_dim, hidden=4 * self.encoder.out_dim).to(self.device)
        self.augmentation = build(config.augmentation, self.fs, config.augmentation_options()).to(self.device)
        self.advmask = find_advmask(self.augmentation)  # the stage whose masker trains, or None

        self.optimizer = torch.optim.Adam(
            list(self.encoder.parameters()) + list(self.projector.parameters()), lr=config.lr
        )
        self.masker_optimizer = None
        if self.advmask is not None:
            self.masker_optimizer = torch.optim.Adam(self.advmask.masker.parameters(), lr=config.masker_lr)
        # one scaler for both: one backward scales both networks' gradients alike
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)

        self.data_generator = torch.Generator()
        self.data_generator.manual_seed(config.seed)
        self.aug_generator = torch.Generator(device=self.device)
        self.aug_generator.manual_seed(config.seed + 1)
        self.epoch = 0
        self.best_loss = math.inf
        self.bad_epochs = 0
        self.stopped = False
        self.history: list[dict] = []
        self._probe = None  # (windows on the device, QRS track, share detected), made on first use

    # ------------------------------------------------------------------ training
    def _autocast(self):
        return torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.encoder(x))

    def backward(self, x: torch.Tensor, scale: float = 1.0) -> BatchLosses:
        """Forward and backward of one micro-batch (see the module docstring): gradients
        accumulate in the encoder, projector and masker; the caller zeroes and steps. `scale`
        weights this batch in the accumulated gradient (1 / micro-batches per step)."""
        cfg = self.config
        with self._autocast():
            view, masks = self.augmentation.adversarial_view(x, self.aug_generator)
            # one forward per view: BatchNorm statistics per view, as in SimCLR
            loss = nt_xent(self._embed(x), self._embed(view), cfg.temperature)
            if masks is None:
                total, sparsity = loss, None
            else:
                # on the masks, not reversed: the masker minimises it
                penalised = masks if cfg.sparsity_on == "raw" else self.advmask.binarize(masks)
                sparsity = sparsity_penalty(penalised, cfg.alpha, cfg.ratio)
                total = loss + sparsity
        self.scaler.scale(total * scale).backward()
        if masks is None:
            return BatchLosses(loss.detach(), None, None, None)
        masker_loss = sparsity - loss if cfg.masker_objective == "adversarial" else sparsity
        return BatchLosses(loss.detach(), masker_loss.detach(), sparsity.detach(), masks.detach())

    def _zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if self.masker_optimizer is not None:
            self.masker_optimizer.zero_grad(set_to_none=True)

    def _optimizer_step(self) -> None:
        """Both optimisers step on the gradients accumulated since `_zero_grad`."""
        self.scaler.step(self.optimizer)
        if self.masker_optimizer is not None:
            self.scaler.step(self.masker_optimizer)
        self.scaler.update()

    def _batches(self) -> list[list[np.ndarray]]:
        """This epoch's micro-batches, grouped by optimiser step (drawn from the data generator)."""
        order = torch.randperm(len(self.indices), generator=self.data_generator).numpy()
        bs = self.config.batch_size
        micro = [self.indices[order[i : i + bs]] for i in range(0, len(order), bs)]
        micro = [m for m in micro if len(m) >= 2]  # NT-Xent needs a negative
        acc = self.config.accumulation
        groups = [micro[i : i + acc] for i in range(0, len(micro), acc)]
        if self.config.max_steps_per_epoch is not None:
            groups = groups[: self.config.max_steps_per_epoch]
        return groups

    def run_epoch(self, progress=None) -> dict:
        """One pass (or `max_steps_per_epoch` optimiser steps) over the data; returns the
        epoch's metrics. `progress`, when given, is called with the number of samples after
        each batch (a tqdm `update`)."""
        if self.stopped:
            raise RuntimeError("Pretrainer.run_epoch: training has already stopped (early stopping or epochs reached)")
        cfg = self.config
        adversarial = self.advmask is not None
        self.encoder.train()
        self.projector.train()
        self.augmentation.train()
        # running sums stay on the device (float64, summed in order like Python floats): no
        # host sync per micro-batch on a GPU; read once at the end of the epoch
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)  # nt_xent, masker_loss, sparsity
        occupancy = torch.zeros(cfg.n_masks if adversarial else 0, dtype=torch.float64, device=self.device)
        n_batches = 0
        n_samples = 0
        start = time.perf_counter()
        for group in self._batches():
            self._zero_grad()
            for idx in group:
                x = self.cache.batch(idx).to(self.device, dtype=torch.float32, non_blocking=True)
                losses = self.backward(x, scale=1.0 / len(group))
                if adversarial:
                    sums += torch.stack([t.double() for t in (losses.nt_xent, losses.masker_loss, losses.sparsity)])
                    occupancy += self.advmask.binarize(losses.masks).mean(dim=(0, 2)).double()
                else:
                    sums[0] += losses.nt_xent.double()
                n_batches += 1
                n_samples += x.shape[0]
                if progress is not None:
                    progress(x.shape[0])
            self._optimizer_step()
        elapsed = time.perf_counter() - start
        if n_batches == 0:
            raise RuntimeError("Pretrainer.run_epoch: no batch of at least 2 windows to train on")

        self.epoch += 1
        nt_xent_sum, masker_sum, sparsity_sum = sums.tolist()
        metrics = {"epoch": self.epoch, "nt_xent": nt_xent_sum / n_batches}
        if adversarial:
            metrics["masker_loss"] = masker_sum / n_batches
            metrics["sparsity"] = sparsity_sum / n_batches
            for n, value in enumerate((occupancy / n_batches).tolist()):
                metrics[f"mask_occupancy_{n}"] = value
        metrics["samples_per_s"] = n_samples / max(elapsed, 1e-9)
        if adversarial:  # after the timing: the probe is not training throughput
            metrics.update(self.mask_statistics())
        if not math.isfinite(metrics["nt_xent"]):
            raise FloatingPointError(f"Pretrainer: NT-Xent is {metrics['nt_xent']} at epoch {self.epoch}")
        if metrics["nt_xent"] < self.best_loss:
            self.best_loss = metrics["nt_xent"]
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        self.stopped = self.bad_epochs >= cfg.patience or self.epoch >= cfg.epochs
        metrics["stop"] = self.stopped
        self.history.append(dict(metrics))
        return metrics

    def mask_statistics(self) -> dict[str, float]:
        """The masks of the current masker on the fixed probe (`ecgmask.pretrain.mask_stats`):
        one forward of the masker in eval mode on the plain windows (no earlier stage)."""
        from ecgmask.pretrain import mask_stats

        if self._probe is None:
            idx = mask_stats.probe_indices(self.cache, self.indices)
            windows = self.cache.batch(idx)
            track, known, detected = mask_stats.probe_qrs(self.cache, idx, windows.numpy())
            self._probe = (windows.to(self.device), torch.from_numpy(track).to(self.device),
                           torch.from_numpy(known).to(self.device), detected)
        windows, track, known, detected = self._probe
        was_training = self.advmask.training
        self.advmask.eval()
        try:
            with torch.no_grad():
                masks = self.advmask.masks(windows)
        finally:
            self.advmask.train(was_training)
        return {**mask_stats.mask_statistics(masks, track, self.advmask.threshold, known), "qrs_detected": detected}

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        state = {
            "config": self.config.to_dict(),
            "encoder": self.encoder.state_dict(),
            "projector": self.projector.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "best_loss": self.best_loss,
            "bad_epochs": self.bad_epochs,
            "stopped": self.stopped,
            "history": [dict(h) for h in self.history],
            "indices": torch.from_numpy(self.indices.copy()),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "numpy": np.random.get_state(),
                "python": random.getstate(),
                "data": self.data_generator.get_state(),
                "augmentation": self.aug_generator.get_state(),
            },
        }
        if self.advmask is not None:
            state["masker"] = self.advmask.state_dict()
            state["masker_optimizer"] = self.masker_optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        # a state saved before a field was added compares with that field's default
        if PretrainConfig(**state["config"]) != self.config:
            raise ValueError("Pretrainer.load_state_dict: the state was saved with a different PretrainConfig")
        self.encoder.load_state_dict(state["encoder"])
        self.projector.load_state_dict(state["projector"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        if self.advmask is not None:
            self.advmask.load_state_dict(state["masker"])
            self.masker_optimizer.load_state_dict(state["masker_optimizer"])
        self.indices = state["indices"].numpy().astype(np.int64)
        self.epoch = int(state["epoch"])
        self.best_loss = float(state["best_loss"])
        self.bad_epochs = int(state["bad_epochs"])
        self.stopped = bool(state["stopped"])
        self.history = [dict(h) for h in state["history"]]
        rng = state["rng"]
        _set_rng_states(rng)
        self.data_generator.set_state(rng["data"])
        self.aug_generator.set_state(rng["augmentation"])

    def save_checkpoint(self, directory: str | os.PathLike) -> Path:
        """Writes `encoder.pt` (what transfer reads) and `state.pt` (the resumable state)."""
        directory = Path(directory)
        save_encoder(directory, self.encoder, self.config.to_dict())
        path = directory / STATE_FILE
        tmp = path.with_suffix(".tmp")
        torch.save(self.state_dict(), tmp)
        os.replace(tmp, path)
        return directory

    @classmethod
    def from_checkpoint(cls, directory: str | os.PathLike, cache) -> "Pretrainer":
        path = Path(directory) / STATE_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no pretraining state here (expected {STATE_FILE} from save_checkpoint)")
        state = torch.load(path, map_location="cpu", weights_only=False)
        trainer = cls(PretrainConfig(**state["config"]), cache, indices=state["indices"].numpy())
        trainer.load_state_dict(state)
        return trainer
