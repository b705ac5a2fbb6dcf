"""Augmentations by name: `build(name, fs, **options)`, compositions `"a+b"`, `names()`, `register`.

Adding an augmentation is one file in this folder whose class derives from
`ecgmask.augment.base.Augmentation` and is decorated with `@register("name")`; every module
here is imported below, so the registry finds it without further edits.

    aug = build("advmask+3kg", fs=500, n_masks=2, max_angle=45)
    x2 = aug(x, generator)        # x: (B, 12, L); generator on x's device
    masker = find_advmask(aug)    # the adversarial stage to train, or None
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import torch
from torch import nn

from ecgmask.augment.base import Augmentation, check_batch

_REGISTRY: dict[str, type[Augmentation]] = {}


def register(name: str):
    """Class decorator: `@register("gaussian")` makes `build("gaussian", fs)` construct the class."""
    if not isinstance(name, str) or not name or "+" in name or name != name.strip():
        raise ValueError(f"ecgmask.augment.register: invalid augmentation name {name!r} (non-empty, no '+', no spaces)")

    def decorate(cls: type[Augmentation]) -> type[Augmentation]:
        if not (isinstance(cls, type) and issubclass(cls, Augmentation)):
            raise TypeError(f"ecgmask.augment.register({name!r}): {cls!r} is not an Augmentation subclass")
        old = _REGISTRY.get(name)
        if old is not None and old.__qualname__ != cls.__qualname__:
            raise ValueError(f"ecgmask.augment.register: {name!r} is already {old.__module__}.{old.__qualname__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def names() -> list[str]:
    """The registered single augmentations (compose them with '+')."""
    return sorted(_REGISTRY)


@register("none")
class Identity(Augmentation):
    """Returns the batch unchanged."""

    def augment(self, x, generator):
        return x


class Compose(Augmentation):
    """Stages applied in the order of `.stages`, all drawing from the one generator."""

    def __init__(self, fs: float, stages: list[Augmentation]):
        super().__init__(fs)
        if not stages:
            raise ValueError("Compose needs at least one stage")
        self.stages = nn.ModuleList(stages)
        self.name = "+".join(s.name for s in stages)

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        check_batch(x, generator, self.name)
        for stage in self.stages:
            x = stage(x, generator)
        return x


def _accepted(cls: type[Augmentation]) -> set[str] | None:
    """Keyword options the class's constructor takes besides fs; None when it takes **kwargs."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return {n for n, p in params.items() if n not in ("self", "fs") and p.kind is not inspect.Parameter.VAR_POSITIONAL}


def build(name: str, fs: float, **options) -> Augmentation:
    """The augmentation `name` at sampling rate `fs` (Hz).

    `name` is one registered name or several joined by '+', applied left to right, except
    that an adversarial stage (advmask) always runs last: its masker learns masks for the
    view it is handed, so the paper's `advmask+3kg` is 3KG, then the mask. In a
    composition each option goes to every stage whose constructor takes it; an option that
    no stage takes is an error (a typo would otherwise pass silently).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"ecgmask.augment.build: augmentation name must be a non-empty string, got {name!r}")
    parts = [p.strip() for p in name.split("+")]
    unknown = [p for p in parts if p not in _REGISTRY]
    if unknown:
        raise ValueError(f"ecgmask.augment.build: unknown augmentation {', '.join(map(repr, unknown))} in {name!r}; "
                         f"known: {', '.join(names())} (compose with '+')")
    classes = sorted((_REGISTRY[p] for p in parts), key=lambda c: bool(getattr(c, "is_adversarial", False)))
    accepted = [_accepted(c) for c in classes]
    unused = sorted(k for k in options if all(a is not None and k not in a for a in accepted))
    if unused:
        takes = sorted(set().union(*(a for a in accepted if a is not None)))
        raise ValueError(f"ecgmask.augment.build: option(s) {unused} are taken by no stage of {name!r}; "
                         f"its stages take {takes}")
    stages = [c(fs, **{k: v for k, v in options.items() if a is None or k in a}) for c, a in zip(classes, accepted)]
    return stages[0] if len(stages) == 1 else Compose(fs, stages)


def find_advmask(aug: nn.Module) -> nn.Module | None:
    """The adversarial stage (class attribute `is_adversarial = True`) of `aug`, or None."""
    if getattr(type(aug), "is_adversarial", False):
        return aug
    for stage in getattr(aug, "stages", ()):
        found = find_advmask(stage)
        if found is not None:
            return found
    return None


# Import every augmentation module so its @register line runs (new files need no edit here).
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")
del _module

__all__ = ["Augmentation", "Compose", "Identity", "build", "find_advmask", "names", "register"]
