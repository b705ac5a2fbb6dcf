"""Where a sweep keeps what: the one place that names the folders and files of a sweep.

A sweep lives in one directory `<storage>/<name>/` that every node can see: a local path, an
NFS mount or an `s3://`/`gs://` URI. Inside it:

- `plan.json`                 the space, profile, data paths and every planned trial;
- `pretrain/`, `probe/`       the Tune experiments of a grid space (one trial per plan entry);
- `tune/`                     the Tune experiment of a searched space;
- `encoders/<key>/`           the final encoder of a pretraining trial (what the probes read);
- `done/<stage>/<key>.json`   a trial's final result, written once its work is complete, so
  that a trial restarted after a driver crash reports it again instead of redoing the work;
- `failed/<stage>/<key>.json` the error of a trial that failed for a reason a retry cannot fix;
- `starts/<stage>/<key>/`     one small file every time a trial starts real work (an audit trail);
- `figures/`                  the curves and the mask figure the sweep ends with;
- `sweep.log`                 everything the driver printed (Tune's table, Ray's logs, trials' output);
- `mlruns/`, `wandb/`         the MLflow file store and the offline W&B runs of `--tracker`;
- `staging/`                  checkpoints being written by trials (sweep.store.staging; local sweeps);
- `driver.lock`               held by the one driver of the sweep (sweep.store.lock; local sweeps).

Trainables, the sweep driver and the analysis all ask this module; none of them spells a
folder name. It imports neither Ray nor torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# stage names: each is the folder of its Tune experiment and the <stage> of done/ failed/ starts/
PRETRAIN = "pretrain"
PROBE = "probe"
SEARCH = "tune"
STAGES = (PRETRAIN, PROBE, SEARCH)

PLAN_FILE = "plan.json"
ENCODERS = "encoders"
DONE = "done"
FAILED = "failed"
STARTS = "starts"
FIGURES = "figures"
LOG_FILE = "sweep.log"
MLRUNS = "mlruns"
WANDB = "wandb"
STAGING = "staging"
LOCK_FILE = "driver.lock"


class SweepError(ValueError):
    """A sweep that cannot start or cannot be read (bad storage, a plan that does not match the
    stored one, a path that holds no sweep); the message names the path and the reason."""


def is_uri(path: str | os.PathLike) -> bool:
    return "://" in str(path)


def join(base: str | os.PathLike, *parts: str) -> str:
    """`base/part/...` for a local path (the OS's separator) or a URI (always `/`; a query such
    as `?endpoint_override=host:port` stays at the end, where pyarrow reads it)."""
    base = str(base)
    if is_uri(base):
        path, mark, query = base.partition("?")
        return "/".join([path.rstrip("/"), *parts]) + mark + query
    return str(Path(base, *parts))


def split(path: str | os.PathLike) -> tuple[str, str]:
    """(parent, name) of a local path or a URI (a URI's query stays with the parent)."""
    path = str(path)
    if not is_uri(path):
        return str(Path(path).parent), Path(path).name
    location, mark, query = path.partition("?")
    parent, _, name = location.rstrip("/").rpartition("/")
    return parent + mark + query, name


def sweep_dir(storage: str | os.PathLike, name: str) -> str:
    """The directory of sweep `name` under `storage` (a local storage made absolute)."""
    storage = str(storage)
    if not is_uri(storage):
        storage = os.path.abspath(storage)
    return join(storage, name)


def _stage(stage: str) -> str:
    if stage not in STAGES:
        raise ValueError(f"unknown sweep stage {stage!r}; expected one of {list(STAGES)}")
    return stage


@dataclass(frozen=True)
class SweepLayout:
    """The paths of one sweep directory `root` (strings: local paths or URIs)."""

    root: str

    def __post_init__(self):
        object.__setattr__(self, "root", str(self.root))

    @property
    def plan(self) -> str:
        return join(self.root, PLAN_FILE)

    def experiment(self, stage: str) -> str:
        """The Tune experiment directory of a stage."""
        return join(self.root, _stage(stage))

    @property
    def encoders(self) -> str:
        return join(self.root, ENCODERS)

    def encoder(self, key: str) -> str:
        return join(self.root, ENCODERS, key)

    def done_dir(self, stage: str) -> str:
        return join(self.root, DONE, _stage(stage))

    def done(self, stage: str, key: str) -> str:
        return join(self.done_dir(stage), f"{key}.json")

    @property
    def failed_dir(self) -> str:
        return join(self.root, FAILED)

    def failed(self, stage: str, key: str) -> str:
        return join(self.failed_dir, _stage(stage), f"{key}.json")

    def starts(self, stage: str, key: str) -> str:
        """The folder holding one file per start of a trial's real work."""
        return join(self.root, STARTS, _stage(stage), key)

    @property
    def figures(self) -> str:
        return join(self.root, FIGURES)

    @property
    def log(self) -> str:
        return join(self.root, LOG_FILE)

    @property
    def mlruns(self) -> str:
        return join(self.root, MLRUNS)

    @property
    def wandb(self) -> str:
        return join(self.root, WANDB)
