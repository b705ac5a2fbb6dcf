"""A tiny stand-in for the ecgmask entry points the trainables call (EcgCache, PretrainConfig,
Pretrainer, ProbeConfig, run_probe): same signatures, instant work, deterministic numbers, and
hooks to fail on purpose (NaN loss, a worker that dies once) and to log every start.

`installed()` puts it in place of the real ones for the trials a test runs through Ray."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path


def make_cache(path) -> str:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "meta.json").write_text(json.dumps({"n_windows": 8, "key": path.name}))
    return str(path)


class EcgCache:
    def __init__(self, path):
        self.path = Path(path)
        self.meta = json.loads((self.path / "meta.json").read_text())

    @classmethod
    def open(cls, path):
        if not (Path(path) / "meta.json").is_file():
            raise FileNotFoundError(f"{path}: not a cache")
        return cls(path)


def _log(marker, line: str) -> None:
    if marker:
        with open(marker, "a") as f:
            f.write(line + "\n")


@dataclass
class PretrainConfig:
    augmentation: str
    seed: int
    epochs: int = 3
    lr: float = 1e-4
    masker_lr: float = 1e-4
    n_masks: int = 2
    alpha: float = 1.0
    ratio: float = 1.0
    k: float = 50.0
    nan_at_epoch: int = 0  # > 0: the loss is NaN at that epoch
    die_at_epoch: int = 0  # > 0: the process exits at that epoch, once (die_flag marks it done)
    die_flag: str = ""
    marker: str = ""  # a file that gets one line per start
    epoch_seconds: float = 0.0

    @classmethod
    def from_profile(cls, profile, **overrides):
        names = {f.name for f in fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise TypeError(f"PretrainConfig has no field(s) {sorted(unknown)}")
        return cls(**{"epochs": profile.epochs, **overrides})


class Pretrainer:
    def __init__(self, config, cache, indices=None):
        self.config = config
        self.cache = cache
        self.epoch = 0
        self.weight = float(config.seed)
        _log(config.marker, f"pretrain {config.augmentation}-{config.seed} start_epoch=0")

    def run_epoch(self) -> dict:
        c = self.config
        if c.die_at_epoch and self.epoch + 1 == c.die_at_epoch and c.die_flag and not os.path.exists(c.die_flag):
            Path(c.die_flag).write_text("died")
            os._exit(1)
        if c.epoch_seconds:
            time.sleep(c.epoch_seconds)
        self.epoch += 1
        self.weight += c.lr * 1e4
        loss = float("nan") if c.nan_at_epoch == self.epoch else 1.0 / self.epoch
        return {"epoch": self.epoch, "nt_xent": loss, "samples_per_s": 100.0, "stop": self.epoch >= c.epochs}

    def save_checkpoint(self, directory):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "state.json").write_text(json.dumps({"config": asdict(self.config), "epoch": self.epoch, "weight": self.weight}))
        (directory / "encoder.pt").write_text(json.dumps({"weight": self.weight}))

    @classmethod
    def from_checkpoint(cls, directory, cache):
        state = json.loads((Path(directory) / "state.json").read_text())
        config = PretrainConfig(**state["config"])
        self = cls.__new__(cls)
        self.config, self.cache, self.epoch, self.weight = config, cache, state["epoch"], state["weight"]
        _log(config.marker, f"pretrain {config.augmentation}-{config.seed} start_epoch={self.epoch}")
        return self


@dataclass
class ProbeConfig:
    task: str
    fraction: float
    seed: int
    mode: str
    steps: int = 5
    lr: float = 0.01
    marker: str = ""
    fail: bool = False
    seconds: float = 0.0  # pretend work

    def __post_init__(self):
        if self.task not in ("arrhythmia", "sex"):
            raise ValueError(f"unknown task {self.task!r}")

    @classmethod
    def from_profile(cls, profile, **overrides):
        return cls(**{"steps": profile.probe_steps, **overrides})


def run_probe(config, cache, checkpoint_dir=None) -> dict:
    _log(config.marker, f"probe {config.mode}-{config.task}-{config.fraction}-{config.seed} start")
    if config.seconds:
        time.sleep(config.seconds)
    if config.fail:
        raise RuntimeError("stand-in probe failed on purpose")
    weight = 0.0
    if checkpoint_dir is not None:
        weight = json.loads((Path(checkpoint_dir) / "encoder.pt").read_text())["weight"]
        emb = Path(checkpoint_dir) / f"embeddings-{cache.meta['key']}.npy"
        if not emb.exists():  # shared by every probe of this encoder
            emb.write_text("x")
    acc = 0.5 + 0.01 * (weight % 10) + 0.1 * config.fraction
    return {
        "test_accuracy": acc,
        "test_balanced_accuracy": acc - 0.01,
        "test_auc": acc + 0.01,
        "val_accuracy": acc,
        "n_train": max(1, int(100 * config.fraction)),
        "n_test": 20,
        "epochs_run": 1,
        "steps_run": config.steps,
    }


# the names under which each trainables module imported the ecgmask entry points
REPLACED = {
    "trainables.context": ("EcgCache",),
    "trainables.pretrain": ("PretrainConfig", "Pretrainer"),
    "trainables.probe": ("ProbeConfig", "run_probe"),
    "trainables.search": ("PretrainConfig", "Pretrainer", "ProbeConfig", "run_probe"),
}


@contextlib.contextmanager
def installed():
    """Inside the block, the trainables call this stand-in instead of ecgmask, also in the
    Ray workers that run their trials.

    A monkeypatch alone stays in this process: a Ray worker imports the trainables afresh.
    So while the block lasts the trainables' modules (and this one) are also pickled by
    value: Tune ships each trainable function with the module globals it reads, as patched
    here, and the worker runs exactly that. Restored on exit."""
    import pytest
    import ray.cloudpickle

    me = sys.modules[__name__]
    modules = [importlib.import_module(name) for name in REPLACED]
    with pytest.MonkeyPatch.context() as patch:
        for module in modules:
            for name in REPLACED[module.__name__]:
                if not hasattr(module, name):
                    raise AttributeError(f"{module.__name__} no longer imports {name}; update REPLACED in {__file__}")
                patch.setattr(module, name, getattr(me, name))
        for module in (me, *modules):
            ray.cloudpickle.register_pickle_by_value(module)
        try:
            yield me
        finally:
            for module in modules:
                ray.cloudpickle.unregister_pickle_by_value(module)
