"""ProbeConfig: one transfer run (task, labelled fraction, seed, mode) and its training sizes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ecgmask.profiles import Profile, get_profile
from ecgmask.tasks import get_task

MODES = ("linear", "finetune", "scratch", "random")
# modes that train the whole network end to end (the others fit a linear head on frozen features)
END_TO_END_MODES = ("finetune", "scratch")
# modes that need a pretrained checkpoint
CHECKPOINT_MODES = ("linear", "finetune")


@dataclass
class ProbeConfig:
    """One transfer run.

    `seed` (the trial seed) drives the head's and any random encoder's initialisation and the
    batch order; `split_seed` fixes the patient split (so the validation and test sets) and,
    unless `subset_seed` is set, the labelled subset: the same patients are used by every
    trial seed and the fractions are nested. `subset_seed` draws the labelled subset alone
    (still nested across fractions, the test set unchanged); `from_profile` sets it to the
    trial seed when the profile's `split_seed_per_seed` is on.

    Every mode has a budget of optimiser steps, the same for every labelled fraction:
    validated every `eval_every` steps, stopped after `patience` validations without a better
    validation score.
    """

    task: str
    fraction: float
    seed: int
    mode: str
    steps: int = 2000  # maximum optimiser steps, whatever the fraction
    eval_every: int = 50  # optimiser steps between validations
    patience: int = 5  # validations without a better validation score before stopping
    width: int = 64  # encoder width for scratch/random (linear and finetune read the checkpoint's)
    lr: float = 0.01  # linear head (paper)
    finetune_lr: float = 1e-4  # finetune: a small step keeps the pretrained weights
    scratch_lr: float = 1e-3  # scratch: random weights, Adam's usual rate
    batch_size: int = 256
    split_seed: int = 0
    subset_seed: int | None = None  # the labelled subset's draw; None: split_seed
    device: str = "auto"
    # linear/random: z-score each feature over the labelled training rows before the head
    # (MoCo v3 / MAE linear probes); False fits the head on the raw features
    standardize: bool = True

    def __post_init__(self):
        get_task(self.task)  # a task of the registry (ecgmask/tasks.py), else a ValueError naming them
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose one of {list(MODES)}")
        if not 0.0 < float(self.fraction) <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")
        for name in ("patience", "steps", "eval_every", "width", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    @classmethod
    def from_profile(cls, profile: Profile | str, **overrides) -> "ProbeConfig":
        """Sizes from the profile: the step budget, validation interval and patience (probe_*
        for linear/random; scratch_* and the scratch lr for finetune/scratch), the width, and
        the labelled subset's seed (the trial seed when `split_seed_per_seed`); every field
        can be overridden."""
        if isinstance(profile, str):
            profile = get_profile(profile)
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"ProbeConfig has no field(s) {sorted(unknown)}")
        mode = overrides.get("mode", "linear")
        end_to_end = mode in END_TO_END_MODES
        defaults = {
            "mode": mode,
            "steps": profile.scratch_steps if end_to_end else profile.probe_steps,
            "eval_every": profile.scratch_eval_every if end_to_end else profile.probe_eval_every,
            "patience": profile.scratch_patience if end_to_end else profile.probe_patience,
            "scratch_lr": profile.scratch_lr,
            "width": profile.width,
        }
        if profile.split_seed_per_seed and "seed" in overrides:
            defaults["subset_seed"] = overrides["seed"]
        return cls(**{**defaults, **overrides})

    def to_dict(self) -> dict:
        return asdict(self)
