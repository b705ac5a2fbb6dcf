"""`pretrain(config, cache_path, out_dir)`: one run to the end without Ray, checkpointing
after every epoch and resuming from `out_dir` when it holds this config's state."""

from __future__ import annotations

from pathlib import Path

from ecgmask.pretrain.config import PretrainConfig
from ecgmask.pretrain.trainer import STATE_FILE, Pretrainer


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
