"""What every trial of a sweep shares: where the sweep lives, the profile, the data paths.

Passed to the trainables with `tune.with_parameters`. The driver resolves the profile (its
name and the --set overrides) once; the trials read the resolved `Profile` from here. The
data itself never travels through Ray's object store: each trial memory-maps the caches
from paths every node can see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ecgmask.data import EcgCache
from ecgmask.profiles import Profile
from sweep.store.layout import SweepLayout


@dataclass(frozen=True)
class TrialContext:
    sweep_dir: str  # <storage>/<name>: local path, NFS path or URI
    profile: Profile  # resolved once by the driver: the named profile with its overrides
    data: dict  # {"pretrain": cache dir, "downstream": cache dir}
    cpus: float = 1.0  # CPUs of one trial: torch uses as many threads
    checkpoint_every: int = 1  # pretraining reports a checkpoint every k epochs (and the last)
    provenance: dict = field(default_factory=dict)  # the driver's record (sweep.store.provenance); each trial adds its machine

    def __post_init__(self):
        if not isinstance(self.profile, Profile):
            raise TypeError(f"TrialContext.profile must be a resolved ecgmask.profiles.Profile, got {type(self.profile).__name__}")

    @property
    def layout(self) -> SweepLayout:
        return SweepLayout(self.sweep_dir)

    def set_threads(self) -> None:
        torch.set_num_threads(max(1, int(math.floor(self.cpus))))


_CACHES: dict = {}


def open_cache(path: str) -> EcgCache:
    """Opens (memory-maps) a cache once per worker process; reused actors keep it open."""
    path = str(path)
    if path not in _CACHES:
        _CACHES[path] = EcgCache.open(path)
    return _CACHES[path]


def ray_placement() -> dict:
    """Where Ray runs this trial: its node's id, the GPU ids Ray gave it and what CUDA is told
    (for the trial's start record; empty outside Ray, which is not started for it)."""
    import os

    import ray

    if not ray.is_initialized():
        return {}
    return {
        "node_id": ray.get_runtime_context().get_node_id(),
        "gpu_ids": [str(g) for g in ray.get_gpu_ids()],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
