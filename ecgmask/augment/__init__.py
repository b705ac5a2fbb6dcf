"""Augmentations by name: `build(name, fs, options)`, compositions `"a+b"`, `names()`, `register`.

Adding an augmentation is one file in this folder whose class derives from
`ecgmask.augment.base.Augmentation` and is decorated with `@register("name")`; every module
here is imported below, so the registry finds it without further edits.

    aug = build("advmask+3kg", fs=500, options={"advmask": {"n_masks": 2}, "3kg": {"max_angle": 45}})
    x2 = aug(x, generator)                          # x: (B, 12, L); generator on x's device
    view, masks = aug.adversarial_view(x, generator)  # for training: masks is None without a masker
    masker = find_advmask(aug)                      # the adversarial stage to train, or None
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Mapping

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

    def adversarial_view(self, x: torch.Tensor, generator: torch.Generator):
        """The stages before the last run without a graph; the last stage (the adversarial
        one, when there is one: `build` puts it last) gives the view and its masks."""
        check_batch(x, generator, self.name)
        *before, last = self.stages
        early = [s.name for s in before if find_advmask(s) is not None]
        if early:
            raise ValueError(f"augmentation {self.name!r}: its adversarial stage {early[0]!r} must be the last "
                             "stage (build puts it last)")
        with torch.no_grad():
            for stage in before:
                x = stage(x, generator)
        return last.adversarial_view(x, generator)


def _accepted(cls: type[Augmentation]) -> set[str] | None:
    """Keyword options the class's constructor takes besides fs; None when it takes **kwargs."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return {n for n, p in params.items() if n not in ("self", "fs") and p.kind is not inspect.Parameter.VAR_POSITIONAL}


def build(name: str, fs: float, options: Mapping[str, Mapping] | None = None) -> Augmentation:
    """The augmentation `name` at sampling rate `fs` (Hz).

    `name` is one registered name or several joined by '+', applied left to right, except
    that an adversarial stage (advmask) always runs last: its masker learns masks for the
    view it is handed, so the paper's `advmask+3kg` is 3KG, then the mask.

    `options` maps an augmentation name to its constructor's keyword options, e.g.
    `{"advmask": {"n_masks": 2, "k": 50.0, "width": 8}, "3kg": {"max_angle": 30}}`; each stage
    gets the entry of its own name. Entries for registered augmentations that are not in
    `name` are ignored (one mapping serves every augmentation of a sweep); an unregistered
    name, or a key that the stage does not take, is an error (a typo would otherwise pass
    silently).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"ecgmask.augment.build: augmentation name must be a non-empty string, got {name!r}")
    parts = [p.strip() for p in name.split("+")]
    unknown = [p for p in parts if p not in _REGISTRY]
    if unknown:
        raise ValueError(f"ecgmask.augment.build: unknown augmentation {', '.join(map(repr, unknown))} in {name!r}; "
                         f"known: {', '.join(names())} (compose with '+')")
    options = _checked_options(options)
    classes = sorted((_REGISTRY[p] for p in parts), key=lambda c: bool(getattr(c, "is_adversarial", False)))
    stages = [c(fs, **options.get(c.name, {})) for c in classes]
    return stages[0] if len(stages) == 1 else Compose(fs, stages)


def _checked_options(options: Mapping[str, Mapping] | None) -> dict[str, dict]:
    """`options` as plain dicts, after checking every name and key against the registry."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"ecgmask.augment.build: options must map augmentation names to their options, "
                        f"e.g. {{'advmask': {{'n_masks': 2}}}}, got {type(options).__name__}")
    checked = {}
    for stage, values in options.items():
        if stage not in _REGISTRY:
            raise ValueError(f"ecgmask.augment.build: options given for {stage!r}, which is no registered "
                             f"augmentation; known: {', '.join(names())}")
        if not isinstance(values, Mapping):
            raise TypeError(f"ecgmask.augment.build: the options of {stage!r} must be a mapping of keyword "
                            f"options, got {type(values).__name__}")
        accepted = _accepted(_REGISTRY[stage])
        bad = sorted(k for k in values if accepted is not None and k not in accepted)
        if bad:
            raise ValueError(f"ecgmask.augment.build: option(s) {bad} are not options of {stage!r}; "
                             f"{stage!r} takes {sorted(accepted)}")
        checked[stage] = dict(values)
    return checked


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
