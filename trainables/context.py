"""What every trial of a sweep shares: where the sweep lives, the profile, the data paths.

Passed to the trainables with `tune.with_parameters`; it holds paths only. The data itself
never travels through Ray's object store: each trial memory-maps the caches from paths
every node can see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrialContext:
    sweep_dir: str  # <storage>/<name>: local path, NFS path or URI
    profile: str  # profile name (ecgmask.profiles)
    data: dict  # {"pretrain": cache dir, "downstream": cache dir}
    cpus: float = 1.0  # CPUs of one trial: torch uses as many threads
    profile_overrides: dict = field(default_factory=dict)  # Profile fields changed with --set
    checkpoint_every: int = 1  # pretraining reports a checkpoint every k epochs (and the last)

    def resolved_profile(self):
        from ecgmask.profiles import get_profile

        profile = get_profile(self.profile)
        return profile.with_overrides(**self.profile_overrides) if self.profile_overrides else profile

    def set_threads(self) -> None:
        import torch

        torch.set_num_threads(max(1, int(math.floor(self.cpus))))


_CORE_ENTRY_POINTS = {
    "EcgCache": "ecgmask.data",
    "PretrainConfig": "ecgmask.pretrain",
    "Pretrainer": "ecgmask.pretrain",
    "ProbeConfig": "ecgmask.transfer",
    "run_probe": "ecgmask.transfer",
}


class RealCore:
    """The ecgmask entry points the trainables call, imported on first use (tests pass tiny
    stand-ins with the same attributes instead)."""

    def __getattr__(self, name: str):
        if name not in _CORE_ENTRY_POINTS:
            raise AttributeError(name)
        import importlib

        return getattr(importlib.import_module(_CORE_ENTRY_POINTS[name]), name)


def real_core() -> RealCore:
    return RealCore()


_CACHES: dict = {}


def open_cache(core, path: str):
    """Opens (memory-maps) a cache once per worker process; reused actors keep it open."""
    key = (id(core.EcgCache), str(path))
    if key not in _CACHES:
        _CACHES[key] = core.EcgCache.open(path)
    return _CACHES[key]
