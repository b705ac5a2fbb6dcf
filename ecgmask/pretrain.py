"""SimCLR pretraining of the 1D ResNet-18, with any registered augmentation or the
adversarial masker (method.md, Objectives); resumable to the bit.

    cfg = PretrainConfig.from_profile("laptop", augmentation="advmask+3kg", seed=0)
    trainer = Pretrainer(cfg, EcgCache.open(path))
    while not (m := trainer.run_epoch())["stop"]: ...
    trainer.save_checkpoint(out_dir)

View 1 is the normalised ECG, view 2 its augmentation. For an adversarial augmentation
(`find_advmask(aug)` is not None) each batch takes, in turn:
- the encoder step: NT-Xent on (x, masked x) with the mask detached;
- the masker step: -NT-Xent(x, masked x) + sparsity penalty, its gradients zeroed first,
  only the masker updated. It reuses the encoder step's (detached) embedding of x and the
  masks computed once for the batch, so it costs one encoder forward over the B masked
  inputs and an input-gradient backward (encoder weights do not require grad there).
Both optimisers step together every `accumulation` batches.

`python -m ecgmask.pretrain --help` runs one configuration without Ray.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ecgmask.augment import build, find_advmask
from ecgmask.checkpoint import save_encoder
from ecgmask.device import resolve_device
from ecgmask.losses import nt_xent, soft_binarize, sparsity_penalty
from ecgmask.models import Projector, ResNet1d18
from ecgmask.profiles import Profile, get_profile

STATE_FILE = "state.pt"


@dataclass
class PretrainConfig:
    augmentation: str
    seed: int = 0
    epochs: int = 100
    batch_size: int = 32
    accumulation: int = 4
    lr: float = 1e-4
    masker_lr: float = 1e-4
    temperature: float = 0.1
    n_masks: int = 2
    alpha: float = 1.0
    ratio: float = 1.0
    k: float = 50.0
    width: int = 64
    masker_width: int = 16
    patience: int = 5
    max_steps_per_epoch: int | None = None
    device: str = "auto"
    amp: bool = True

    def __post_init__(self):
        problems = []
        if not isinstance(self.augmentation, str) or not self.augmentation.strip():
            problems.append(f"augmentation must be a name such as 'advmask+3kg', got {self.augmentation!r}")
        for name in ("epochs", "batch_size", "accumulation", "width", "masker_width", "n_masks"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            problems.append(f"batch_size must be at least 2 (NT-Xent needs negatives), got {self.batch_size}")
        if self.patience < 1:
            problems.append(f"patience must be at least 1, got {self.patience}")
        for name in ("lr", "masker_lr", "temperature", "k", "ratio"):
            if not float(getattr(self, name)) > 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)}")
        if self.alpha < 0:
            problems.append(f"alpha must be non-negative, got {self.alpha}")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            problems.append(f"max_steps_per_epoch must be None or at least 1, got {self.max_steps_per_epoch}")
        if problems:
            raise ValueError("PretrainConfig: " + "; ".join(problems))

    @classmethod
    def from_profile(cls, profile: str | Profile, **overrides) -> "PretrainConfig":
        """The profile's sizes (width, masker width, batch, accumulation, epochs, patience,
        step cap) with `overrides` on top; `augmentation` must be among the overrides."""
        p = get_profile(profile) if isinstance(profile, str) else profile
        values = {
            "width": p.width,
            "masker_width": p.masker_width,
            "batch_size": p.batch_size,
            "accumulation": p.accumulation,
            "epochs": p.epochs,
            "patience": p.patience,
            "max_steps_per_epoch": p.max_steps_per_epoch,
        }
        values.update(overrides)
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@contextlib.contextmanager
def _input_gradients_only(module: nn.Module):
    """Inside, `module` builds a graph only through its inputs (no weight gradients) and its
    BatchNorm layers keep batch statistics without touching their running averages."""
    params = [p for p in module.parameters() if p.requires_grad]
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    for p in params:
        p.requires_grad_(False)
    for m in norms:
        m.track_running_stats = False
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)
        for m in norms:
            m.track_running_stats = True


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


class EncoderPass(NamedTuple):
    loss: torch.Tensor  # NT-Xent of the encoder step, detached
    z_clean: torch.Tensor  # projection of view 1, detached
    view: torch.Tensor  # view 2, still attached to the masker (adversarial only)
    masks: torch.Tensor | None  # raw masks (B, N, L) with their graph, None without a masker


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
        self.augmentation = build(config.augmentation, self.fs)
        self.advmask = find_advmask(self.augmentation)
        if self.advmask is not None:
            self.augmentation = build(
                config.augmentation, self.fs, n_masks=config.n_masks, k=config.k, width=config.masker_width
            )
            self.advmask = find_advmask(self.augmentation)
        self.augmentation.to(self.device)

        self.optimizer = torch.optim.Adam(
            list(self.encoder.parameters()) + list(self.projector.parameters()), lr=config.lr
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.masker_optimizer = None
        self.masker_scaler = None
        if self.advmask is not None:
            self.masker_optimizer = torch.optim.Adam(self.advmask.masker.parameters(), lr=config.masker_lr)
            self.masker_scaler = torch.amp.GradScaler("cuda", enabled=self.amp)

        self.data_generator = torch.Generator()
        self.data_generator.manual_seed(config.seed)
        self.aug_generator = torch.Generator(device=self.device)
        self.aug_generator.manual_seed(config.seed + 1)
        self.epoch = 0
        self.best_loss = math.inf
        self.bad_epochs = 0
        self.stopped = False
        self.history: list[dict] = []

    # ------------------------------------------------------------------ training
    def _autocast(self):
        return torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.encoder(x))

    def _second_view(self, x: torch.Tensor):
        """The augmented view; for an adversarial augmentation also the raw masks (with their
        graph), and the view still attached to the masker."""
        if self.advmask is None:
            with torch.no_grad():
                return self.augmentation(x, self.aug_generator), None
        stages = getattr(self.augmentation, "stages", [self.augmentation])
        masks = None
        view = x
        for stage in stages:
            if stage is self.advmask:
                masks = self.advmask.masks(view)
                view = self.advmask.apply(view, masks, self.aug_generator)
            elif masks is None:
                with torch.no_grad():
                    view = stage(view, self.aug_generator)
            else:
                view = stage(view, self.aug_generator)  # after the mask: keep its graph
        if masks is None:
            raise ValueError(f"augmentation {self.config.augmentation!r}: its adversarial stage must be the "
                             "augmentation itself or a top-level stage of its composition")
        return view, masks

    def encoder_backward(self, x: torch.Tensor, scale: float = 1.0) -> "EncoderPass":
        """The encoder step's forward and backward on one batch (gradients accumulate; the
        caller steps the optimiser). The masked view enters detached: no gradient reaches
        the masker here."""
        with self._autocast():
            view, masks = self._second_view(x)
            # one forward per view (BatchNorm statistics per view), so that the masker step's
            # forward of the masked view computes the same function as this one
            z_clean = self._embed(x)
            loss = nt_xent(z_clean, self._embed(view.detach()), self.config.temperature)
        self.scaler.scale(loss * scale).backward()
        return EncoderPass(loss.detach(), z_clean.detach(), view, masks)

    def masker_backward(self, step: "EncoderPass", scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """The masker step's backward of -NT-Xent(x, masked x) + sparsity penalty, reusing the
        encoder step's masks, masked view and (detached) embedding of x. The encoder is run
        once more on the masked view with its weights frozen: only input gradients flow
        through it, into the masker. Returns (masker loss, sparsity penalty), detached."""
        if step.masks is None:
            raise RuntimeError("Pretrainer.masker_backward: this augmentation has no adversarial masker")
        cfg = self.config
        with _input_gradients_only(self.encoder), _input_gradients_only(self.projector):
            with self._autocast():
                masked_loss = nt_xent(step.z_clean, self._embed(step.view), cfg.temperature)
                sparsity = sparsity_penalty(step.masks, cfg.alpha, cfg.ratio)
                masker_loss = -masked_loss + sparsity
            self.masker_scaler.scale(masker_loss * scale).backward()
        return masker_loss.detach(), sparsity.detach()

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
        sums = {"nt_xent": 0.0, "masker_loss": 0.0, "sparsity": 0.0}
        occupancy = torch.zeros(cfg.n_masks if adversarial else 0, dtype=torch.float64)
        n_batches = 0
        n_samples = 0
        start = time.perf_counter()
        for group in self._batches():
            self.optimizer.zero_grad(set_to_none=True)
            if adversarial:
                self.masker_optimizer.zero_grad(set_to_none=True)
            for j, idx in enumerate(group):
                last = j == len(group) - 1
                x = self.cache.batch(idx).to(self.device, dtype=torch.float32, non_blocking=True)
                step = self.encoder_backward(x, scale=1.0 / len(group))
                if last:
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                if adversarial:
                    masker_loss, sparsity = self.masker_backward(step, scale=1.0 / len(group))
                    if last:
                        self.masker_scaler.step(self.masker_optimizer)
                        self.masker_scaler.update()
                    sums["masker_loss"] += float(masker_loss)
                    sums["sparsity"] += float(sparsity)
                    with torch.no_grad():
                        occupancy += soft_binarize(step.masks.detach().float(), cfg.k).mean(dim=(0, 2)).double().cpu()
                sums["nt_xent"] += float(step.loss)
                n_batches += 1
                n_samples += x.shape[0]
                if progress is not None:
                    progress(x.shape[0])
        elapsed = time.perf_counter() - start
        if n_batches == 0:
            raise RuntimeError("Pretrainer.run_epoch: no batch of at least 2 windows to train on")

        self.epoch += 1
        metrics = {"epoch": self.epoch, "nt_xent": sums["nt_xent"] / n_batches}
        if adversarial:
            metrics["masker_loss"] = sums["masker_loss"] / n_batches
            metrics["sparsity"] = sums["sparsity"] / n_batches
            for n, value in enumerate((occupancy / n_batches).tolist()):
                metrics[f"mask_occupancy_{n}"] = value
        metrics["samples_per_s"] = n_samples / max(elapsed, 1e-9)
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
            state["masker_scaler"] = self.masker_scaler.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        if state["config"] != self.config.to_dict():
            raise ValueError("Pretrainer.load_state_dict: the state was saved with a different PretrainConfig")
        self.encoder.load_state_dict(state["encoder"])
        self.projector.load_state_dict(state["projector"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        if self.advmask is not None:
            self.advmask.load_state_dict(state["masker"])
            self.masker_optimizer.load_state_dict(state["masker_optimizer"])
            self.masker_scaler.load_state_dict(state["masker_scaler"])
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


def pretrain(config: PretrainConfig, cache_path, out_dir, progress: bool = True, log=None) -> dict:
    """Runs `config` on the cache at `cache_path` to the end (resuming from `out_dir` when it
    holds a state for this config), checkpointing after every epoch. Returns the last
    epoch's metrics with `checkpoint` (the directory) added."""
    from ecgmask.data import EcgCache
    from tqdm.auto import tqdm

    cache = EcgCache.open(cache_path)
    out_dir = Path(out_dir)
    if (out_dir / STATE_FILE).is_file():
        trainer = Pretrainer.from_checkpoint(out_dir, cache)
        if trainer.config != config:
            raise ValueError(f"{out_dir}: holds the state of a different pretraining configuration; "
                             "choose another output directory")
    else:
        trainer = Pretrainer(config, cache)
    metrics = trainer.history[-1] if trainer.history else {}
    while not trainer.stopped:
        with tqdm(total=_epoch_samples(trainer), desc=f"epoch {trainer.epoch + 1}/{config.epochs}", unit="ecg",
                  disable=not progress, leave=False) as bar:
            metrics = trainer.run_epoch(progress=bar.update)
        trainer.save_checkpoint(out_dir)
        if log is not None:
            log(metrics)
    return {**metrics, "checkpoint": str(out_dir)}


def _epoch_samples(trainer: Pretrainer) -> int:
    """Samples one epoch will see (for the progress bar), without drawing from any generator."""
    cfg = trainer.config
    n = len(trainer.indices)
    sizes = [min(cfg.batch_size, n - i) for i in range(0, n, cfg.batch_size)]
    sizes = [s for s in sizes if s >= 2]
    if cfg.max_steps_per_epoch is not None:
        sizes = sizes[: cfg.max_steps_per_epoch * cfg.accumulation]
    return sum(sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecgmask.pretrain",
        description="Pretrain one SimCLR configuration (any augmentation, or the adversarial masker) on a "
        "pretraining cache, without Ray. Writes encoder.pt and state.pt to --out after every epoch; "
        "rerunning with the same --out resumes.",
    )
    parser.add_argument("--cache", required=True,
                        help="pretraining cache directory (from sweep/prepare.py or build_cache)")
    parser.add_argument("--out", required=True, help="checkpoint directory to write (and resume from)")
    parser.add_argument("--augmentation", default="advmask+3kg",
                        help="augmentation name, compositions with '+' (default: advmask+3kg)")
    parser.add_argument("--profile", default="laptop", help="size profile: laptop or paper (default: laptop)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: the profile's)")
    parser.add_argument("--batch-size", type=int, help="micro-batch size (default: the profile's)")
    parser.add_argument("--accumulation", type=int, help="micro-batches per optimiser step (default: the profile's)")
    parser.add_argument("--lr", type=float, help="encoder Adam learning rate (default 1e-4)")
    parser.add_argument("--masker-lr", type=float, help="masker Adam learning rate (default 1e-4)")
    parser.add_argument("--n-masks", type=int, help="advmask: number of masks N (default 2)")
    parser.add_argument("--alpha", type=float, help="advmask: sparsity penalty weight (default 1)")
    parser.add_argument("--ratio", type=float, help="advmask: sparsity ratio R (default 1)")
    parser.add_argument("--max-steps-per-epoch", type=int, help="cap on optimiser steps per epoch")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:n]")
    parser.add_argument("--no-amp", action="store_true", help="disable fp16 mixed precision on CUDA")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    overrides = {
        name: value
        for name, value in {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "accumulation": args.accumulation,
            "lr": args.lr,
            "masker_lr": args.masker_lr,
            "n_masks": args.n_masks,
            "alpha": args.alpha,
            "ratio": args.ratio,
            "max_steps_per_epoch": args.max_steps_per_epoch,
        }.items()
        if value is not None
    }
    try:
        config = PretrainConfig.from_profile(
            args.profile, augmentation=args.augmentation, seed=args.seed, device=args.device,
            amp=not args.no_amp, **overrides,
        )
    except ValueError as err:
        parser.error(str(err))

    def log(metrics: dict) -> None:
        shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()}
        print(json.dumps(shown), flush=True)

    try:
        result = pretrain(config, args.cache, args.out, progress=not args.quiet, log=log)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"checkpoint written to {result['checkpoint']} (encoder.pt, state.pt)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
