"""What one pretraining run is: `PretrainConfig` (method.md's constants as defaults)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ecgmask.profiles import Profile, get_profile

MASKER_OBJECTIVES = ("adversarial", "sparsity_only")
SPARSITY_ON = ("raw", "binarised")
PER_MASK_THRESHOLD = "1/N"  # mask_threshold: the reference's threshold for N softmax masks


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
    # what shapes the masks (ablations of the paper's objective, search_spaces/masker.py):
    # "adversarial" = -NT-Xent + sparsity; "sparsity_only" = the sparsity gradient alone (the
    # reference's effective objective: its NT-Xent gradients cancel, method.md)
    masker_objective: str = "adversarial"
    # the sparsity penalty on the raw masks (the paper's formula) or on the binarised ones
    # (the masks actually applied)
    sparsity_on: str = "raw"
    # where the masks are binarised: 0.5, or "1/N" (1 / n_masks)
    mask_threshold: float | str = 0.5
    # options of any augmentation, keyed by its name ({"gaussian": {"std": 0.1}}): how a search
    # space sweeps an augmentation's own parameter without a field here
    augmentation_params: dict = field(default_factory=dict)

    def __post_init__(self):
        problems = []
        if not isinstance(self.augmentation_params, dict) or not all(
            isinstance(v, dict) for v in self.augmentation_params.values()
        ):
            problems.append("augmentation_params must map augmentation names to option mappings, "
                            f"got {self.augmentation_params!r}")
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
        if self.masker_objective not in MASKER_OBJECTIVES:
            problems.append(f"masker_objective must be one of {', '.join(MASKER_OBJECTIVES)}, "
                            f"got {self.masker_objective!r}")
        if self.sparsity_on not in SPARSITY_ON:
            problems.append(f"sparsity_on must be one of {', '.join(SPARSITY_ON)}, got {self.sparsity_on!r}")
        try:
            threshold = self.threshold()
        except (TypeError, ValueError):
            problems.append(f"mask_threshold must be a number in (0, 1) or {PER_MASK_THRESHOLD!r}, "
                            f"got {self.mask_threshold!r}")
        else:
            if not 0.0 < threshold < 1.0:
                problems.append(f"mask_threshold must lie in (0, 1), got {self.mask_threshold!r}")
        if problems:
            raise ValueError("PretrainConfig: " + "; ".join(problems))

    def threshold(self) -> float:
        """The binarisation threshold as a number (1 / n_masks for "1/N")."""
        if isinstance(self.mask_threshold, str) and self.mask_threshold.strip().upper() == PER_MASK_THRESHOLD:
            return 1.0 / int(self.n_masks)
        if isinstance(self.mask_threshold, bool):
            raise TypeError("mask_threshold")
        return float(self.mask_threshold)

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

    def augmentation_options(self) -> dict[str, dict]:
        """The options `ecgmask.augment.build(self.augmentation, fs, options)` takes from this
        config, keyed by augmentation name (entries for stages the augmentation lacks are
        ignored by `build`): `augmentation_params`, with the masker's fields on top."""
        options = {name: dict(values) for name, values in self.augmentation_params.items()}
        options["advmask"] = {**options.get("advmask", {}), "n_masks": self.n_masks, "k": self.k,
                              "width": self.masker_width, "objective": self.masker_objective,
                              "threshold": self.threshold()}
        return options

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
