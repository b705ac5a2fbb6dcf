"""Search spaces: one module a space, discovered by name.

A space module exposes `describe() -> str` (one paragraph) and
`plan(profile: str, seeds: tuple[int, ...] | None = None) -> SweepPlan`. Adding a space is
adding one module here; `python sweep/run.py --space <module name>` finds it.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from search_spaces.plan import DEFAULT_SEEDS, Row, SearchSpec, SweepPlan, grid_plan

__all__ = ["DEFAULT_SEEDS", "Row", "SearchSpec", "SweepPlan", "get_space", "grid_plan", "names"]

_HELPERS = {"plan"}  # modules of this package that are not spaces


def _is_space(module: ModuleType) -> bool:
    return callable(getattr(module, "plan", None)) and callable(getattr(module, "describe", None))


def names() -> list[str]:
    """The spaces in this package, sorted."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name in _HELPERS:
            continue
        if _is_space(importlib.import_module(f"{__name__}.{info.name}")):
            found.append(info.name)
    return sorted(found)


def get_space(name: str) -> ModuleType:
    available = names()
    if name not in available:
        raise ValueError(f"unknown space {name!r}; choose one of {available} (modules in search_spaces/)")
    return importlib.import_module(f"{__name__}.{name}")
